/**
 * Prepared statements cached per database handle. Every statement outside src/db/ comes from here (a test
 * checks): preparing costs more than running a point query, and a statement is native memory that SQLite frees
 * only when V8 collects its JS wrapper. A quiet isolate (the worker's) collects rarely, so a statement prepared
 * per call grew the soak's resident memory by megabytes a minute.
 *
 * LIMIT and OFFSET parameters are written `?+0`: this SQLite is built with STAT4, which marks a statement whose
 * bare LIMIT parameter the planner looked at as expired on every bind, so each run re-prepared it (~20 µs, three times
 * the cost of an identifier search). An expression is not looked into. A test keeps src/ free of bare ones.
 */
import type { StatementSync } from "node:sqlite";
import type { Db } from "./sqlite.ts";

const CACHE = new WeakMap<Db, Map<string, StatementSync>>();

/**
 * The prepared statement for `sql` on `db`, prepared once. The text may only be built from the code's own
 * fragments (a fixed set of variants), never from input: values are bound as parameters.
 */
export function stmt(db: Db, sql: string): StatementSync {
  let map = CACHE.get(db);
  if (!map) CACHE.set(db, map = new Map());
  let s = map.get(sql);
  if (!s) {
    if (map.size > 500) map.clear();
    map.set(sql, s = db.prepare(sql));
  }
  return s;
}
