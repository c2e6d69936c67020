/**
 * Civil registry records → spdci CRVS_Person (extensions/crvs/v1/data/CRVSPerson.jsonld, a core Person): the core
 * person fields, then the live birth's place, the death's place, marital status, marriage and divorce dates and
 * the parents' identifiers, as the crvs yaml's record example writes them. Fetal deaths and adoptions have no
 * property of their own in the class: they are searchable (`vital_event_type`) and notified (`reg_event_type`),
 * and an adoption's parents are the record's parent identifiers.
 */
import type { IdentifierValue, Registrant } from "../../registry/model.ts";
import { toDciPerson } from "../social/mapping.ts";
import { crvsDetails, type VitalEvent } from "./details.ts";
import { toPlace } from "./places.ts";

type Json = Record<string, unknown>;

/** JSON-LD context sent with each top-level civil registry record. */
export const CRVS_CONTEXT = {
  "@vocab": "https://schema.spdci.org/extensions/crvs/v1/data",
  spdcicore: "https://schema.spdci.org/core/v1/data",
} as const;

/** The `@type` of a civil registry person (the class's `@id`, as the yaml's example writes it). */
export const CRVS_PERSON_TYPE = "CRVS_Person";

function dateTime(d: string): string {
  return `${d}T00:00:00Z`;
}

function identifier(id: IdentifierValue | undefined): Json | undefined {
  return id && { "@type": "Identifier", identifier_type: id.type, identifier_value: id.value };
}

function dates(events: VitalEvent[], type: VitalEvent["type"]): string[] | undefined {
  const out = events.filter((e) => e.type === type).map((e) => dateTime(e.date));
  return out.length ? out : undefined;
}

/** The CRVS_Person record of a civil registry registrant (`withContext` adds `@context`). */
export function toCrvsPerson(reg: Registrant, withContext: boolean): Json {
  const d = crvsDetails(reg.details);
  const birth = d.vital_events.find((e) => e.type === "live_birth");
  const death = d.vital_events.find((e) => e.type === "death");
  const person: Json = {
    ...(withContext ? { "@context": CRVS_CONTEXT } : {}),
    ...toDciPerson(reg, false),
    "@type": CRVS_PERSON_TYPE,
    birth_place: birth?.place && toPlace(birth.place),
    death_place: death?.place && toPlace(death.place),
    marital_status: d.marital_status,
    marriage_date: dates(d.vital_events, "marriage"),
    divorce_date: dates(d.vital_events, "divorce"),
    parent1_identifier: identifier(d.parent1_identifier),
    parent2_identifier: identifier(d.parent2_identifier),
  };
  const out: Json = {};
  for (const [k, v] of Object.entries(person)) if (v !== undefined) out[k] = v;
  return out;
}
