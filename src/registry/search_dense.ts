/**
 * The page of a search whose matches are many and spread over the registry (one birth year and sex of a
 * national registry: ~70,000 of 14M records), in the default order (row id).
 *
 * Through an index, SQLite reads every match and keeps the smallest ids (a temp B-tree for ORDER BY): the page
 * costs as much as the count, ~0.2 µs a match, 15 ms for 70,000. Read in row id order instead, the page needs
 * only the rows up to its last match: with one row in 200 matching, ~4,000 rows for a page of 20, however
 * large the registry. Which way is cheaper follows from the count (already made) and the id space: when the
 * matches are spread evenly, the page's rows lie within `(offset + page + 1) × maxId / total` ids of the start.
 *
 * The row id scan is bounded to DENSE_SPAN_FACTOR times that span (`r.id <= bound`), and used only when that
 * bound is still well under the count (the index way's work). When the matches are not spread evenly (a
 * cohort registered in one go sits in one id range), the bounded scan finds fewer than a full page and the
 * index way answers: the result is the same either way, and the wasted work is bounded by the span.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { CursorPosition, SortKey } from "./search_cursor.ts";

/** How much further than the even-spread estimate the row id scan may read before the index way answers. */
export const DENSE_SPAN_FACTOR = 4;

/** The fewest matches for which a row id scan is considered (below, the index way costs < ~0.5 ms anyway). */
export const DENSE_MIN_TOTAL = 2000;

/**
 * The row id range `(low, high]` a row id scan should read for the page, or undefined when the index way is
 * the better one (a sort other than the default, few matches, or matches too sparse for the page's depth).
 */
export function denseRange(
  db: Db,
  q: { total: number; offset: number; pageSize: number; sort: SortKey[]; after?: CursorPosition },
): { low: number; high: number } | undefined {
  if (q.sort.length > 0 || q.total < DENSE_MIN_TOTAL) return undefined;
  const maxId = Number(
    (stmt(db, "SELECT MAX(id) AS m FROM registrants").get() as { m: number | null }).m ?? 0,
  );
  const span = Math.ceil((q.offset + q.pageSize + 1) * maxId / q.total) * DENSE_SPAN_FACTOR;
  if (span >= q.total) return undefined;
  const low = q.after?.id ?? 0;
  return { low, high: low + span };
}
