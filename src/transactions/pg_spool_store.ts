/**
 * The bulk search spools in PostgreSQL (table bulk_spool_chunks, migration 0028): a spool is a run of chunks of
 * about 1 MB of whole lines, each keyed by the character offset it starts at. The instance receiving an upload
 * writes a chunk as soon as one is full (one chunk in flight: the upload waits, so memory stays bounded) and any
 * instance reads a page from the chunk holding its offset, so the one that claims the transaction need not be
 * the one that received it, and an instance lost for good loses no accepted search.
 */
import type { PgPool } from "../db/pg/pool.ts";
import { pgOne, pgRun, pgText } from "../db/pg/query.ts";
import { readLines, SpoolError, type SpoolStore, type SpoolWriter } from "./spool_store.ts";
import { SPOOL_STILL_READ } from "./bulk_store.ts";

/** A chunk is written once this many characters of lines are buffered. */
const CHUNK = 1024 * 1024;
/** The most text one pull hands the line splitter (a slice of the chunk: no copy). */
const READ_MAX = 256 * 1024;

/** (spool, start_offset, text, written_at). */
const INSERT_CHUNK =
  "INSERT INTO bulk_spool_chunks (spool, start_offset, text, written_at) VALUES (?, ?, ?, ?)";
/** (written_at, spool, start_offset). */
const TOUCH_CHUNK = "UPDATE bulk_spool_chunks SET written_at = ? WHERE spool = ? AND start_offset = ?";
/** (spool, at): the chunk holding offset `at` (the last one past the end). */
const CHUNK_AT = `SELECT start_offset, text FROM bulk_spool_chunks WHERE spool = ? AND start_offset <= ?
  ORDER BY start_offset DESC LIMIT 1`;
/** (spool). */
const DELETE_SPOOL = "DELETE FROM bulk_spool_chunks WHERE spool = ?";
/**
 * (before): the spools last written at or before `before` that no bulk search reads any more (SPOOL_NEEDED of
 * bulk_store.ts, for every spool at once); one statement, so the check and the delete see one snapshot.
 */
const SWEEP = `WITH gone AS (
    DELETE FROM bulk_spool_chunks c
    WHERE c.spool IN (SELECT spool FROM bulk_spool_chunks GROUP BY spool HAVING max(written_at) <= ?)
      AND NOT EXISTS (SELECT 1 FROM bulk_searches b WHERE b.spool = c.spool AND ${SPOOL_STILL_READ})
    RETURNING c.spool)
  SELECT count(DISTINCT spool) AS n FROM gone`;

/** The spools in the PostgreSQL database behind `pool`. */
export function pgSpoolStore(pool: PgPool): SpoolStore {
  return {
    create: (name) => Promise.resolve(pgWriter(pool, name)),
    reader: (name) => {
      // The chunk read last: pages are read in order, so one chunk serves the pages it holds (about 1 MB kept).
      let chunk: { start_offset: number; text: string } | undefined;
      return {
        read(offset, count) {
          let at = offset;
          return readLines(offset, count, async () => {
            if (!chunk || at < chunk.start_offset || at >= chunk.start_offset + chunk.text.length) {
              chunk = await pgOne(pool, pgText(CHUNK_AT), [name, at]);
              if (!chunk) return "";
            }
            const from = at - chunk.start_offset;
            const part = chunk.text.slice(from, from + READ_MAX);
            at += part.length;
            return part;
          });
        },
      };
    },
    remove: async (name) => void await pgRun(pool, pgText(DELETE_SPOOL), [name]).catch(() => {}),
    sweep: async (before) => (await pgOne<{ n: number }>(pool, pgText(SWEEP), [before]))?.n ?? 0,
  };
}

/** Lines buffered into chunks, each chunk one INSERT (autocommitted: a slow upload holds no connection). */
function pgWriter(pool: PgPool, name: string): SpoolWriter {
  let buffer: string[] = [];
  let size = 0;
  let offset = 0;
  let lastChunk: number | undefined;
  let writing = 0;
  let failure: SpoolError | undefined;
  let chain = Promise.resolve();
  const fail = (err: unknown) => {
    failure ??= new SpoolError(`the bulk spool could not be written: ${(err as Error).message}`, {
      cause: err,
    });
  };
  const cut = () => {
    if (size === 0 || failure) return;
    const text = buffer.join("");
    const start = offset;
    offset += text.length;
    buffer = [];
    size = 0;
    writing++;
    chain = chain
      .then(() => pgRun(pool, pgText(INSERT_CHUNK), [name, start, text, Date.now()]))
      .then(() => void (lastChunk = start), fail)
      .finally(() => writing--);
  };
  const flush = async () => {
    await chain;
    if (failure) throw failure;
  };
  return {
    line(text) {
      if (failure) return;
      buffer.push(text, "\n");
      size += text.length + 1;
      if (size >= CHUNK) cut();
    },
    get busy() {
      return writing > 0;
    },
    flush,
    touch() {
      // The sweep goes by a spool's latest chunk: refreshing that one keeps the whole spool.
      chain = chain.then(async () => {
        if (lastChunk !== undefined && !failure) {
          await pgRun(pool, pgText(TOUCH_CHUNK), [Date.now(), name, lastChunk]).catch(fail);
        }
      });
    },
    commit() {
      cut();
      return flush();
    },
    async abort() {
      failure ??= new SpoolError("the bulk spool was aborted");
      await chain;
      await pgRun(pool, pgText(DELETE_SPOOL), [name]).catch(() => {});
    },
  };
}
