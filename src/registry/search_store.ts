/**
 * Search on either backend: a whole search message (its items under one time budget) and the bulk identifier
 * lookups. The SQLite store runs the synchronous search of search.ts (its statements, budget and speed
 * unchanged); the PostgreSQL one is pg_search_store.ts. Both answer with exactly the same results, totals, order,
 * pages, cursors and rejections, but for the time budget's (src/db/pg/budget.ts: once a request's earlier items
 * used it up, PostgreSQL still runs a later item's cheap statements, SQLite only an identifier lookup's).
 */
import type { Db } from "../db/sqlite.ts";
import {
  type SearchInput,
  searchMessage,
  type SearchOutcome,
  type SearchSettings,
} from "./search_message.ts";
import { type IdLookup, lookupIdentifiers, type LookupSettings } from "./id_lookup.ts";
import type { SearchResponseItem } from "./search_item.ts";

/** Search on one backend. */
export interface SearchStore {
  /** Answers a search message (throws DciRejection for header-level problems, as searchMessage). */
  message(deps: SearchSettings, input: SearchInput): Promise<SearchOutcome>;
  /** Answers idtype-value lookups on `registry` as search_response items, in order (id_lookup.ts). */
  lookupIdentifiers(
    ctx: LookupSettings,
    registry: string,
    lookups: readonly IdLookup[],
  ): Promise<SearchResponseItem[]>;
}

/** Search on the SQLite database `db`, in this isolate (the search pool is search_run.ts's choice). */
export function sqliteSearchStore(db: Db): SearchStore {
  return {
    message: (deps, input) => Promise.try(() => searchMessage({ ...deps, db }, input)),
    lookupIdentifiers: (ctx, registry, lookups) =>
      Promise.try(() => lookupIdentifiers({ ...ctx, db }, registry, lookups)),
  };
}
