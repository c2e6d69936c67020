/**
 * The first page of an identifier lookup in one statement. A lookup seeks the identifiers' primary key for one
 * (value, type) and reads the few registrants it names, so its page is its count too, and the page's rows can
 * carry their data: one statement instead of the page and then the rows. When the page was read with
 * `iterate()`, which in Deno 2.9.6 costs ~20 µs a call before it reads a row, the two statements were about 8 % of
 * a signed search's CPU (bench/load.ts).
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { type Compiled, searchFrom } from "./query_sql.ts";
import { fromRow, REGISTRANT_SELECT, type StoredRegistrant } from "./store.ts";
import { orderBy, type SortKey } from "./search_cursor.ts";

const FROM = "FROM registrants r";

/**
 * `base`, a searchFrom text, selecting the registrants with their data (REGISTRANT_SELECT's columns then
 * `extra`): searchFrom's FROM is `registrants r` (then its joins and WHERE), the data table joins on the same
 * alias.
 */
export function withDataFrom(base: string, extra = ""): string {
  if (!base.startsWith(FROM)) throw new Error("searchFrom no longer starts with " + FROM);
  const select = extra ? REGISTRANT_SELECT.replace(" FROM ", `${extra} FROM `) : REGISTRANT_SELECT;
  return `${select}${base.slice(FROM.length)}`;
}

/**
 * The registrants of an identifier lookup's first page, or undefined when the statement found more than a page
 * (the caller then counts and pages under the statement budget, which refuses them once the request's earlier
 * items used it up).
 *
 * It runs outside the statement budget: its cost is bounded by the data, not by the request (the identifiers
 * stored for one value and type, one live per registry), and with no budget installed `dci_budget` never stops.
 */
export function identifierPage(
  db: Db,
  q: {
    where: Compiled;
    storage: string;
    groupStorage: string;
    sort: SortKey[];
    pageSize: number;
  },
): StoredRegistrant[] | undefined {
  const base = searchFrom(q.where, q.storage, q.groupStorage);
  const rows = stmt(db, `${withDataFrom(base)} ORDER BY ${orderBy(q.sort)} LIMIT ?+0`).all(
    ...q.where.params,
    q.pageSize + 1,
  ) as Array<{ id: number; data: string; deleted_at: null }>;
  return rows.length > q.pageSize ? undefined : rows.map(fromRow);
}
