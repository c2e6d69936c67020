/** Deleting many old rows without holding the write lock or the event loop for long. */
import type { Db } from "./sqlite.ts";
import { stmt } from "./statements.ts";
import { firstChunk, nextChunk } from "./chunks.ts";

/**
 * Runs `sql`, a DELETE of at most `chunk` rows (its last parameter is the chunk size), until it deletes fewer
 * than it was asked to; returns how many rows it deleted. Each run is its own short write transaction, sized by
 * the time the previous one took (nextChunk: at most `largest` rows), and the event loop turns between runs, so
 * requests and the worker go on while a first purge of a large backlog runs.
 */
export async function deleteInChunks(
  db: Db,
  sql: string,
  args: readonly (string | number)[],
  largest = 2000,
): Promise<number> {
  const del = stmt(db, sql);
  let total = 0;
  let chunk = firstChunk(largest);
  while (true) {
    const started = performance.now();
    const n = Number(del.run(...args, chunk).changes);
    total += n;
    if (n < chunk) return total;
    chunk = nextChunk(chunk, performance.now() - started, largest);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/**
 * As `deleteInChunks` for a DELETE whose candidates are read in id order: `sql` deletes at most a chunk of rows with
 * ids above its first parameter (then `args`, then the chunk size) and RETURNs their ids; each run starts after
 * the last id the previous one deleted, so rows that stay (not due yet) are read once or twice in all, not once a
 * run.
 */
export async function deleteInIdOrder(
  db: Db,
  sql: string,
  args: readonly (string | number)[],
  largest = 2000,
): Promise<number> {
  const del = stmt(db, sql);
  let total = 0;
  let after = 0;
  let chunk = firstChunk(largest);
  while (true) {
    const started = performance.now();
    const ids = (del.all(after, ...args, chunk) as Array<{ id: number }>).map((r) => Number(r.id));
    total += ids.length;
    if (ids.length < chunk) return total;
    after = Math.max(...ids);
    chunk = nextChunk(chunk, performance.now() - started, largest);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
