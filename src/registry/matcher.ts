/** Filters for subscriptions: validating a query and testing one registrant (deleted ones too) against it. */
import type { Db } from "../db/sqlite.ts";
import type { RecordType } from "./attributes.ts";
import { parseQuery, QueryError } from "./query_parse.ts";
import { toSql } from "./query_sql.ts";
import { stmt } from "../db/statements.ts";
import type { Registrant } from "./model.ts";
import { pairsJson, valuePairs } from "./values.ts";
import { contactPairs } from "./contacts.ts";

/** The outcome of checking a query. */
export type QueryCheck = { ok: true } | { ok: false; code: QueryError["code"]; message: string };

/** Says whether `query` of `queryType` is valid for `recordType` (default person). */
export function validateQuery(
  queryType: unknown,
  query: unknown,
  recordType: RecordType = "person",
): QueryCheck {
  try {
    toSql(parseQuery(queryType, query).cond, { recordType, today: "2000-01-01", mode: "match" });
    return { ok: true };
  } catch (e) {
    if (e instanceof QueryError) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

/**
 * Whether the registrant with row id `registrantId` (live or soft-deleted) matches the query, compiled by the
 * search compiler. Throws QueryError for an invalid query; false for an unknown registrant.
 */
export function matchesQuery(
  db: Db,
  registrantId: number,
  queryType: unknown,
  query: unknown,
  options: { now?: number } = {},
): boolean {
  const row = stmt(db, "SELECT record_type FROM registrants WHERE id = ?").get(registrantId) as
    | { record_type: RecordType }
    | undefined;
  if (!row) return false;
  const today = new Date(options.now ?? Date.now()).toISOString().slice(0, 10);
  const where = toSql(parseQuery(queryType, query).cond, {
    recordType: row.record_type,
    today,
    mode: "match",
  });
  // Its registry values and contacts as a filter reads them (query_dialect.ts matchValues): from its record.
  const data = stmt(db, "SELECT data FROM registrant_data WHERE id = ?").get(registrantId) as
    | { data: string }
    | undefined;
  const reg = data ? JSON.parse(data.data) as Registrant : undefined;
  const vals = reg ? pairsJson(valuePairs(reg)) : "[]";
  const contacts = reg ? pairsJson(contactPairs(reg)) : "[]";
  const hit = stmt(
    db,
    `SELECT 1 AS hit FROM (SELECT reg.*, ? AS vals, ? AS contacts FROM registrants reg WHERE reg.id = ?) r
     WHERE ${where.sql}`,
  ).get(vals, contacts, registrantId, ...where.params);
  return hit !== undefined;
}
