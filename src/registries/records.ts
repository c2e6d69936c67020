/** A stored registrant of any registry → its DCI JSON-LD record, through its registry's profile. */
import type { Registrant } from "../registry/model.ts";
import { recordTypeOfStorage } from "./index.ts";
import { isGroup, type StoredRegistrant } from "../registry/store.ts";
import type { RegistryStore } from "../registry/registry_store.ts";
import { withListed } from "../registry/search_members.ts";

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

/**
 * The DCI record of stored `reg` as an operator views it (the admin API, the console): a group's with the members
 * a listing shows, a truncated list marked as a search answer marks it (search_members.ts).
 */
export async function viewedRecordOf(
  registry: RegistryStore,
  reg: StoredRegistrant,
): Promise<Record<string, unknown>> {
  if (!isGroup(reg.recordType)) return dciRecordOf(reg);
  const listed = await registry.members(reg.id);
  return dciRecordOf(withListed(reg, listed), listed.members);
}
