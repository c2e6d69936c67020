/** A purge in chunks sized by time (src/db/purge.ts on SQLite, pgDeleteInChunks on PostgreSQL). */

/** How long one chunk of a purge should hold the write lock: the next chunk is sized to take about this long. */
export const CHUNK_TARGET_MS = 25;

/** The first chunk of a purge (at most its largest): small, as the rows' cost (their cascades) is not known yet. */
const FIRST_CHUNK = 250;

/** The smallest chunk a slow purge shrinks to. */
const MIN_CHUNK = 16;

/**
 * The size of a purge's next chunk after one of `chunk` rows took `ms`: scaled to take about CHUNK_TARGET_MS (a
 * row that cascades to many others, or to a large result's overflow pages, costs far more than a plain one),
 * growing at most twofold a chunk, between MIN_CHUNK and `largest`. The time includes any wait for the lock, so a
 * busy database shrinks the chunks too; they grow back twofold a chunk once it is quiet.
 */
export function nextChunk(chunk: number, ms: number, largest: number): number {
  const scaled = Math.floor(chunk * CHUNK_TARGET_MS / Math.max(ms, 0.1));
  return Math.min(largest, Math.max(MIN_CHUNK, Math.min(chunk * 2, scaled)));
}

/**
 * Runs `run(chunk)`, which deletes at most `chunk` rows and says how many it deleted, until it deletes fewer than
 * asked; returns how many it deleted in all. The first chunk is small (FIRST_CHUNK, at most `largest`), each next
 * one sized by nextChunk, and the event loop turns between them, so requests and the worker go on while a first
 * purge of a large backlog runs.
 */
export async function deleteChunks(
  largest: number,
  run: (chunk: number) => number | Promise<number>,
): Promise<number> {
  let total = 0;
  let chunk = Math.min(largest, FIRST_CHUNK);
  while (true) {
    const started = performance.now();
    const n = await run(chunk);
    total += n;
    if (n < chunk) return total;
    chunk = nextChunk(chunk, performance.now() - started, largest);
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}
