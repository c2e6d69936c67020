/** The sizes of a purge's chunks (src/db/purge.ts on SQLite, pgDeleteInChunks on PostgreSQL). */

/** How long one chunk of a purge should hold the write lock: the next chunk is sized to take about this long. */
export const CHUNK_TARGET_MS = 25;

/** The first chunk of a purge (at most its largest): small, as the rows' cost (their cascades) is not known yet. */
const FIRST_CHUNK = 250;

/** The smallest chunk a slow purge shrinks to. */
const MIN_CHUNK = 16;

/**
 * The size of a purge's next chunk after one of `chunk` rows took `ms`: scaled to take about CHUNK_TARGET_MS (a
 * row that cascades to many others, or to a large result's overflow pages, costs far more than a plain one),
 * growing at most twofold a chunk, between MIN_CHUNK and `largest`.
 */
export function nextChunk(chunk: number, ms: number, largest: number): number {
  const scaled = Math.floor(chunk * CHUNK_TARGET_MS / Math.max(ms, 0.1));
  return Math.max(MIN_CHUNK, Math.min(largest, chunk * 2, scaled));
}

/** The first chunk of a purge whose chunks hold at most `largest` rows. */
export function firstChunk(largest: number): number {
  return Math.min(largest, FIRST_CHUNK);
}
