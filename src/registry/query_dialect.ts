/**
 * The two SQL dialects of the query compiler: SQLite's (the embedded default) and PostgreSQL's. The compiled
 * conditions are the same tree; only these spellings differ:
 *
 * - the statement budget: SQLite checks `dci_budget()` on the rows of every table a search loops over
 *   (src/db/budget.ts); PostgreSQL bounds the read transaction with `SET LOCAL statement_timeout` instead;
 * - truth values: `1`/`0` against `TRUE`/`FALSE` (PostgreSQL's WHERE takes a boolean only);
 * - case-insensitive comparisons: SQLite's LIKE and NOCASE fold ASCII letters; PostgreSQL compares
 *   `lower(column)` (the database is UTF8 with the C locale, so lower() folds ASCII only, and the name indexes
 *   are on lower(column) text_pattern_ops, baseline 0025);
 * - bound values PostgreSQL cannot type from their place (`?::text`, `?::numeric`), and registry attribute
 *   values (`registrant_values.value`), a jsonb there: compared with `to_jsonb(?)` of the value's own type, so
 *   the (attr, value) key serves the lookup.
 */
import { budgetTerm } from "../db/budget.ts";

/** The SQL dialect compiled for (SQLite when not given). */
export type Dialect = "sqlite" | "postgres";

/** `budgetTerm(column) AND ` in a search-mode statement of SQLite; nothing in match mode or on PostgreSQL. */
export function budgetPrefix(ctx: { mode: "search" | "match"; dialect?: Dialect }, column: string): string {
  return ctx.mode === "search" && ctx.dialect !== "postgres" ? `${budgetTerm(column)} AND ` : "";
}

/**
 * A subscription filter's registrant (match mode) as the event recorded it: its searchable values (attr, value)
 * and its contacts (kind, value), bound as JSON arrays of pairs in `r.vals` and `r.contacts`
 * (src/subscriptions/filter_eval.ts), not read from registrant_values / registrant_contacts. Those hold the
 * current record, and their keys lead with (attr, value): a range or LIKE over them for one registrant reads
 * every registrant's values, per event, under fan-out's write lock.
 */
export function matchValues(dialect: Dialect | undefined): string {
  return dialect === "postgres"
    ? "(SELECT j ->> 0 AS attr, j -> 1 AS value FROM jsonb_array_elements(r.vals) j)"
    : "(SELECT j.value ->> 0 AS attr, j.value ->> 1 AS value FROM json_each(r.vals) j)";
}

/** The contacts of a subscription filter's registrant, as `matchValues` its values. */
export function matchContacts(dialect: Dialect | undefined): string {
  return dialect === "postgres"
    ? "(SELECT j ->> 0 AS kind, j ->> 1 AS value FROM jsonb_array_elements(r.contacts) j)"
    : "(SELECT j.value ->> 0 AS kind, j.value ->> 1 AS value FROM json_each(r.contacts) j)";
}

/** A constant truth value. */
export function truth(dialect: Dialect | undefined, value: boolean): string {
  if (dialect === "postgres") return value ? "TRUE" : "FALSE";
  return value ? "1" : "0";
}

/** The placeholder of one value compared with a column: PostgreSQL types a number (any numeric column). */
export function mark(dialect: Dialect | undefined, value: string | number): string {
  return dialect === "postgres" && typeof value === "number" ? "?::numeric" : "?";
}

/** The placeholder of one value compared with `registrant_values.value` (a jsonb on PostgreSQL). */
export function valueMark(dialect: Dialect | undefined, value: string | number): string {
  if (dialect !== "postgres") return "?";
  return typeof value === "number" ? "to_jsonb(?::numeric)" : "to_jsonb(?::text)";
}

/** `registrant_values.value` (aliased `alias`) as text, for LIKE and substr. */
export function valueText(dialect: Dialect | undefined, alias: string): string {
  return dialect === "postgres" ? `(${alias}.value #>> '{}')` : `${alias}.value`;
}

/** `column LIKE ?` (ESCAPE '\'), case-insensitive for ASCII letters as SQLite's LIKE. */
export function likeSql(dialect: Dialect | undefined, column: string): string {
  return dialect === "postgres"
    ? `lower(${column}) LIKE lower(?::text) ESCAPE '\\'`
    : `${column} LIKE ? ESCAPE '\\'`;
}

/**
 * `column LIKE ?` (ESCAPE '\') on a column whose values are stored ASCII-lower-cased, matched with a pattern
 * lower-cased the same way (a contact, contacts.ts): on PostgreSQL a plain LIKE, which the primary key serves for a
 * prefix (the database is in the C locale); `lower(column)` there read every contact of the kind.
 */
export function foldedLikeSql(dialect: Dialect | undefined, column: string): string {
  return dialect === "postgres" ? `${column} LIKE ?::text ESCAPE '\\'` : `${column} LIKE ? ESCAPE '\\'`;
}

/** `column` equal to one of `n` values, ignoring ASCII case (SQLite's NOCASE). */
export function nocaseIn(dialect: Dialect | undefined, column: string, n: number): string {
  if (dialect === "postgres") return `lower(${column}) IN (${Array(n).fill("lower(?::text)").join(", ")})`;
  return `${column} COLLATE NOCASE IN (${Array(n).fill("?").join(", ")})`;
}

/** A boolean as 0 or 1 in arithmetic. */
export function asInt(dialect: Dialect | undefined, test: string): string {
  return dialect === "postgres" ? `(${test})::int` : `(${test})`;
}

/** A bound text value PostgreSQL cannot type from its place (a function's argument). */
export function textMark(dialect: Dialect | undefined): string {
  return dialect === "postgres" ? "?::text" : "?";
}
