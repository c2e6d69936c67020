/** Deleting many old rows without holding the write lock or the event loop for long. */
import type { Db } from "./sqlite.ts";
import { stmt } from "./statements.ts";
import { deleteChunks } from "./chunks.ts";

/**
 * Runs `sql`, a DELETE of at most a chunk of rows (its last parameter is the chunk size), until it deletes fewer
 * than it was asked to; returns how many rows it deleted. Each run is its own short write transaction, sized by
 * the time the previous one took (deleteChunks: at most `largest` rows).
 */
export function deleteInChunks(
  db: Db,
  sql: string,
  args: readonly (string | number)[],
  largest = 2000,
): Promise<number> {
  const del = stmt(db, sql);
  return deleteChunks(largest, (chunk) => Number(del.run(...args, chunk).changes));
}

/**
 * As `deleteInChunks` for a DELETE whose candidates are read in id order: `sql` deletes at most a chunk of rows with
 * ids above its first parameter (then `args`, then the chunk size) and RETURNs their ids; each run starts after
 * the last id the previous one deleted, so rows that stay (not due yet) are read once or twice in all, not once a
 * run.
 */
export function deleteInIdOrder(
  db: Db,
  sql: string,
  args: readonly (string | number)[],
  largest = 2000,
): Promise<number> {
  const del = stmt(db, sql);
  let after = 0;
  return deleteChunks(largest, (chunk) => {
    const ids = (del.all(after, ...args, chunk) as Array<{ id: number }>).map((r) => Number(r.id));
    if (ids.length > 0) after = Math.max(...ids);
    return ids.length;
  });
}
