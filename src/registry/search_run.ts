/**
 * Where a search message runs: an item that may examine many records sends the message to the search pool
 * (search_pool.ts), off this isolate; messages of identifier lookups of persons only (a few index entries each)
 * are answered here, as is everything when there is no pool (DCI_SEARCH_WORKERS=0, an in-memory database). A
 * lookup of groups counts a group's members when it has more than an answer lists (search_members.ts): it may
 * read many records, so it goes to the pool too. On PostgreSQL every search goes to the storage's search store:
 * the database runs the scan in its own process, there is nothing to move off the isolate.
 */
import type { Deps } from "../deps.ts";
import { queryTypeName } from "./query_parse.ts";
import { isSearchable, type SearchInput, type SearchOutcome } from "./search_message.ts";
import { recordTypeOf, regTypeRecordType } from "./search_criteria.ts";
import { isBuiltIn, profileOf } from "../registries/index.ts";
import type { RegistryProfile } from "../registries/profile.ts";

/** Answers a search message of `senderId` (throws DciRejection for header-level problems, as searchMessage). */
export async function runSearch(
  deps: Pick<Deps, "storage" | "config" | "clock" | "searchPool">,
  senderId: string,
  input: SearchInput,
): Promise<SearchOutcome> {
  if (deps.searchPool && deps.storage.kind === "sqlite" && mayScan(input)) {
    return await deps.searchPool.run(senderId, input);
  }
  return await deps.storage.search.message(deps, input);
}

/**
 * Whether an item of the message is more than an identifier lookup of persons. A deployment's own registry is
 * searched in this isolate: it is registered here (startServer), and a search worker knows only the built-in ones.
 */
function mayScan(input: SearchInput): boolean {
  const profile = profileOf(input.registry);
  if (!profile || !isBuiltIn(profile) || !isSearchable(input.registry)) return false;
  const items = (input.message as { search_request?: unknown } | null)?.search_request;
  if (!Array.isArray(items)) return false;
  return items.some((item) => {
    const criteria = (item as { search_criteria?: Criteria } | null)?.search_criteria;
    return queryTypeName(criteria?.query_type) !== "idtype-value" || returnsGroups(criteria!, profile);
  });
}

type Criteria = {
  query_type?: unknown;
  reg_record_type?: unknown;
  response_entity?: unknown;
  reg_type?: unknown;
};

/** Whether an item's records are groups (as prepareItem reads its record type); false when it names none valid. */
function returnsGroups(criteria: Criteria, profile: RegistryProfile): boolean {
  try {
    const named = criteria.reg_record_type ?? criteria.response_entity;
    const type = named !== undefined && named !== null && named !== ""
      ? recordTypeOf(named, profile)
      : regTypeRecordType(criteria.reg_type, profile) ?? profile.recordTypes[0];
    return type.kind === "group";
  } catch {
    return false; // refused by the item's own checks, reading nothing
  }
}
