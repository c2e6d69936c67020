/** A stored registrant of any registry → its DCI JSON-LD record, through its registry's profile. */
import type { Registrant } from "../registry/model.ts";
import { recordTypeOfStorage } from "./index.ts";

/**
 * The DCI record of `reg` as its registry's profile maps it (groups with `members` when given; `@context`
 * unless `withContext` is false). A record type no profile declares (a registry removed from this binary)
 * maps to a minimal record: its id and identifiers.
 */
export function dciRecordOf(
  reg: Registrant,
  members?: Registrant[],
  withContext = true,
): Record<string, unknown> {
  const found = recordTypeOfStorage(reg.recordType);
  if (!found) {
    return {
      "@id": reg.externalId,
      identifier: reg.identifiers.map((i) => ({ identifier_type: i.type, identifier_value: i.value })),
    };
  }
  return found.profile.toRecord(reg, found.recordType, { members, withContext });
}
