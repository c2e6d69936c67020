/**
 * Where a search message runs: an item that may examine many records sends the message to the search pool
 * (search_pool.ts), off this isolate; messages of identifier lookups only (a few index entries each) are
 * answered here, as is everything when there is no pool (DCI_SEARCH_WORKERS=0, an in-memory database). On
 * PostgreSQL every search goes to the storage's search store: the database runs the scan in its own process,
 * there is nothing to move off the isolate.
 */
import type { Deps } from "../deps.ts";
import { queryTypeName } from "./query_parse.ts";
import { isSearchable, type SearchInput, type SearchOutcome } from "./search_message.ts";

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

/** Whether an item of the message is more than an identifier lookup. */
function mayScan(input: SearchInput): boolean {
  if (!isSearchable(input.registry)) return false;
  const items = (input.message as { search_request?: unknown } | null)?.search_request;
  if (!Array.isArray(items)) return false;
  return items.some((item) => {
    const criteria = (item as { search_criteria?: { query_type?: unknown } } | null)?.search_criteria;
    return queryTypeName(criteria?.query_type) !== "idtype-value";
  });
}
