/** The (created_at, id) list cursor of src/db/keyset.ts, read from PostgreSQL. */
import { type AfterCursor, afterRow, cursorRowSql, type CursorTable } from "../keyset.ts";
import { pgOne, type PgQueryable, pgText } from "./query.ts";

/** As `afterCursor`: the condition (SQLite placeholders, for `pgText`) of the rows after row `before`. */
export async function pgAfterCursor(
  db: PgQueryable,
  table: CursorTable,
  prefix: "" | "n.",
  before: number,
): Promise<AfterCursor | undefined> {
  const at = await pgOne<{ created_at: string }>(db, pgText(cursorRowSql(table)), [before]);
  return at && afterRow(prefix, at.created_at, before);
}
