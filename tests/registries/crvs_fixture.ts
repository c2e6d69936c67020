/** Civil registry test helpers: input records read as the storage reads them, and the CRVS_Person validator. */
import { readRegistrant, type Registrant } from "../../src/registry/model.ts";
import { CRVS_PERSON_RECORD, crvsProfile } from "../../src/registries/crvs/mod.ts";
import { CORE_CLASSES, CORE_CODES, jsonLdValidator } from "../helpers/jsonld.ts";

type Json = Record<string, unknown>;

/** Validates records against spdci CRVS_Person (a core Person plus extensions/crvs/v1/data/CRVSPerson.jsonld). */
export const crvsValidator = jsonLdValidator({
  classes: {
    ...CORE_CLASSES,
    CRVS_Person: ["core/v1/data/Person.jsonld", "extensions/crvs/v1/data/CRVSPerson.jsonld"],
  },
  codes: CORE_CODES,
  freeCodes: ["IdentifierTypeEnum"],
});

/** The errors `readDetails` reports for an input record (empty when it reads). */
export function detailErrors(raw: Json): string[] {
  const errors: string[] = [];
  crvsProfile.readDetails(raw, CRVS_PERSON_RECORD, errors);
  return errors;
}

/** An input record read into a civil registry registrant as the storage reads it (throws InputError). */
export function crvsRegistrant(raw: Json, now = "2026-01-02T03:04:05.000Z"): Registrant {
  return readRegistrant(raw, now, undefined, crvsProfile);
}

/** The CRVS_Person record of an input record (top-level, with `@context`). */
export function crvsRecord(raw: Json): Json {
  return crvsProfile.toRecord(crvsRegistrant(raw), CRVS_PERSON_RECORD, { withContext: true });
}
