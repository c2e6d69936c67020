/**
 * The count of a search without the statement budget's check on every row, where its LIMIT bounds it.
 *
 * A search counts its matches first, up to maxResults + 1 (search.ts). The budget check on every row
 * (src/db/budget.ts) is what stops a statement that loops over far more rows than it keeps; on a count that reads
 * exactly one index range, every row read is a match, so the LIMIT bounds the rows read and the check only costs:
 * at 10M persons one birth year and sex (62,018 matches, reg_p_sex_birth) count in ~5 ms without it and ~9 ms with
 * it (SQLite's `random()` per row, src/db/budget.ts). The count goes without the check when all of these hold:
 * - the condition is a conjunction of comparisons of the record's own columns with bound values (`r.sex = ?`,
 *   `r.birth_date >= ?`): nothing else for SQLite to test on a row (no OR, NOT, function, subquery, household);
 * - SQLite's plan for the count statement itself, with the values bound (the plan can depend on them: STAT4),
 *   is one SEARCH of `r` (beside its subquery's co-routine) through an index of the record type's live rows with
 *   one constraint per comparison: the range it reads is the matches, and the record type and deletion terms are
 *   the index's own;
 * - the LIMIT is within what the request's budget would let the statement read (ROWS_PER_MS a millisecond).
 * Anything else keeps the check; the page statement after the count always has it.
 */
import type { Db } from "../db/sqlite.ts";
import type { StatementBudget } from "../db/budget.ts";
import { stmt } from "../db/statements.ts";
import { type Compiled, searchFrom } from "./query_sql.ts";

/**
 * Index entries an unchecked count may read per millisecond of the request's budget: ~80 ns an entry warm
 * (above), so 4,000 a millisecond leaves three times that for pages read from disk.
 */
export const ROWS_PER_MS = 4000;

/** One comparison of a column of `r` with a bound value (parentheses removed first: they only group ANDs). */
const TERM = /^r\.([a-z_][a-z0-9_]*) (=|<|<=|>|>=) \?$/;

/** The plan of a search of one index range of `r`: its index and its constraints (`sex=? AND birth_date>?`). */
const INDEX_SEARCH = /^SEARCH r USING (?:COVERING )?INDEX ([A-Za-z0-9_]+) \((.+)\)$/;

/** One constraint of such a plan (SQLite writes `>` for `>=` and `<` for `<=`). */
const CONSTRAINT = /^([a-z_][a-z0-9_]*)(=|<|>)\?$/;

/** The other lines of a count's plan: its subquery run as a co-routine and read. */
const SUBQUERY = /^(?:CO-ROUTINE|SCAN) \(?subquery-\d+\)?$/;

/** The count statement of `from` (a searchFrom text): its matches up to a LIMIT (the last parameter). */
export function countSql(from: string): string {
  return `SELECT COUNT(*) AS n FROM (SELECT 1 ${from} LIMIT ?+0)`;
}

/** `sex =`, `birth_date >`: each part as a plan's constraint names it, sorted; undefined when one is no match. */
function keys(parts: string[], pattern: RegExp): string[] | undefined {
  const out: string[] = [];
  for (const part of parts) {
    const m = pattern.exec(part);
    if (!m) return undefined;
    out.push(`${m[1]} ${m[2][0]}`);
  }
  return out.sort();
}

/**
 * `FROM … WHERE …` of the count of `where` over the live records of `recordType` up to `limit` rows without the
 * budget check on `r`, when that count reads only its matches (above); undefined when it needs the check.
 */
export function uncheckedCountFrom(
  db: Db,
  where: Compiled,
  recordType: string,
  limit: number,
  budget: StatementBudget | undefined,
): string | undefined {
  if (where.household || where.dialect === "postgres") return undefined;
  if (budget && limit > budget.budgetMs * ROWS_PER_MS) return undefined;
  const terms = keys(where.sql.replace(/[()]/g, "").split(" AND "), TERM);
  if (!terms || terms.length !== where.params.length) return undefined;
  const from = searchFrom(where, recordType, undefined, { gate: false });
  // The plan of the very statement that will count: one index search, and its subquery's co-routine.
  const plan = (stmt(db, `EXPLAIN QUERY PLAN ${countSql(from)}`).all(...where.params, limit) as Array<
    { detail: string }
  >).map((r) => r.detail).filter((d) => !SUBQUERY.test(d));
  const m = plan.length === 1 ? INDEX_SEARCH.exec(plan[0]) : null;
  if (!m || keys(m[2].split(" AND "), CONSTRAINT)?.join() !== terms.join()) return undefined;
  return liveIndexOf(db, m[1], recordType) ? from : undefined;
}

/** Whether `index` is on registrants and holds only the live rows of `recordType` (its partial WHERE). */
function liveIndexOf(db: Db, index: string, recordType: string): boolean {
  const row = stmt(
    db,
    "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ? AND tbl_name = 'registrants'",
  )
    .get(index) as { sql: string | null } | undefined;
  const sql = row?.sql?.replace(/\s+/g, " ").trim() ?? "";
  return sql.endsWith(` WHERE record_type = '${recordType}' AND deleted_at IS NULL`);
}
