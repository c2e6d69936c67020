/**
 * The cursor of a list newest first by (created_at, id) (transactions, notifications: migration 0023 gives
 * each filter an index in that order). The cursor handed out is a row id; the page after it starts below that
 * row's (created_at, id).
 */
import type { Db } from "./sqlite.ts";
import { stmt } from "./statements.ts";

/** A list's tables with a (created_at, id) cursor. */
export type CursorTable = "transactions" | "notifications";

/** The SQL condition of the rows after a cursor, and its arguments. */
export type AfterCursor = { sql: string; args: [string, number] };

/**
 * The SQL condition and its arguments for the rows after row `before` of `table` (`column` prefix: "" or an
 * alias like "n."); undefined when no row is at or below that id (the page is empty). A cursor with no row,
 * never handed out, starts at the row below it.
 */
export function afterCursor(
  db: Db,
  table: CursorTable,
  prefix: "" | "n.",
  before: number,
): AfterCursor | undefined {
  const at = stmt(db, cursorRowSql(table)).get(before) as { created_at: string } | undefined;
  return at && afterRow(prefix, at.created_at, before);
}

/** The statement reading the cursor's row (or the one below it): (before). */
export function cursorRowSql(table: CursorTable): string {
  // table is one of two literals: the statement text never holds input.
  return `SELECT created_at FROM ${table} WHERE id <= ? ORDER BY id DESC LIMIT 1`;
}

/** The condition of the rows after the cursor's row (created_at, before). */
export function afterRow(prefix: "" | "n.", createdAt: string, before: number): AfterCursor {
  return { sql: `(${prefix}created_at, ${prefix}id) < (?, ?)`, args: [createdAt, before] };
}
