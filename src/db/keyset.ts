/**
 * The cursor of a list newest first by (created_at, id) (transactions, notifications: migration 0023 gives
 * each filter an index in that order). The cursor handed out is a row id; the page after it starts below that
 * row's (created_at, id).
 */
import type { Db } from "./sqlite.ts";
import { stmt } from "./statements.ts";

/**
 * The SQL condition and its arguments for the rows after row `before` of `table` (`column` prefix: "" or an
 * alias like "n."); undefined when no row is at or below that id (the page is empty). A cursor with no row,
 * never handed out, starts at the row below it.
 */
export function afterCursor(
  db: Db,
  table: "transactions" | "notifications",
  prefix: "" | "n.",
  before: number,
): { sql: string; args: [string, number] } | undefined {
  // table is one of two literals: the statement text never holds input.
  const at = stmt(db, `SELECT created_at FROM ${table} WHERE id <= ? ORDER BY id DESC LIMIT 1`)
    .get(before) as { created_at: string } | undefined;
  if (!at) return undefined;
  return { sql: `(${prefix}created_at, ${prefix}id) < (?, ?)`, args: [at.created_at, before] };
}
