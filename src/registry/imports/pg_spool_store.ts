/**
 * The import upload spools in PostgreSQL (table import_spool_chunks, migration 0029): a spool is a run of chunks of
 * the upload's raw bytes, about 1 MB each, numbered from 0. The instance receiving an upload stores a chunk as soon
 * as one is full (the upload waits for it: one chunk in memory), and the runner of any instance reads the spool as
 * a stream, one chunk per pull, so the instance that claims the job need not be the one that received the file,
 * and an instance lost for good loses no queued import.
 */
import type { PgPool } from "../../db/pg/pool.ts";
import { pgOne, pgRun, pgText } from "../../db/pg/query.ts";
import type { ImportSpoolStore } from "./spool_store.ts";
import { newSpoolName, uploadMeter } from "./spool.ts";

/** A chunk is stored once this many bytes are buffered. */
export const IMPORT_CHUNK = 1024 * 1024;
/** A part-filled chunk is stored anyway once the last one is this old: a slow upload's spool keeps young. */
const REFRESH_MS = 60_000;

/** (spool, seq, bytes, written_at). */
const INSERT_CHUNK = "INSERT INTO import_spool_chunks (spool, seq, bytes, written_at) VALUES (?, ?, ?, ?)";
/** (spool, seq). */
const CHUNK = "SELECT bytes FROM import_spool_chunks WHERE spool = ? AND seq = ?";
/** (spool). */
const DELETE_SPOOL = "DELETE FROM import_spool_chunks WHERE spool = ?";
/**
 * (before): the spools last written at or before `before` of no open import job (IMPORT_SQL.openSpool of store.ts,
 * for every spool at once); one statement, so the check and the delete see one snapshot.
 */
const SWEEP = `WITH gone AS (
    DELETE FROM import_spool_chunks c
    WHERE c.spool IN (SELECT spool FROM import_spool_chunks GROUP BY spool HAVING max(written_at) <= ?)
      AND NOT EXISTS (SELECT 1 FROM registry_imports j
        WHERE j.spool_file = c.spool AND j.state IN ('queued', 'running'))
    RETURNING c.spool)
  SELECT count(DISTINCT spool) AS n FROM gone`;

/** The import spools in the PostgreSQL database behind `pool`. */
export function pgImportSpoolStore(pool: PgPool): ImportSpoolStore {
  const remove = async (name: string) => void await pgRun(pool, pgText(DELETE_SPOOL), [name]).catch(() => {});
  const chunk = async (name: string, seq: number) =>
    (await pgOne<{ bytes: Uint8Array }>(pool, pgText(CHUNK), [name, seq]))?.bytes;
  return {
    async write(body) {
      const name = newSpoolName();
      const meter = uploadMeter();
      try {
        await body.pipeThrough(meter.stream).pipeTo(chunkWriter(pool, name));
      } catch (err) {
        await remove(name);
        throw err;
      }
      return meter.spooled(name);
    },
    async source(name) {
      let first = await chunk(name, 0);
      if (!first) return undefined;
      let seq = 0;
      return new ReadableStream<Uint8Array>({
        async pull(ctl) {
          const bytes = first ?? await chunk(name, seq);
          first = undefined;
          seq++;
          // A copy of the row's bytes alone (the driver's buffer may be a view of a larger one).
          if (bytes) ctl.enqueue(new Uint8Array(bytes));
          else ctl.close();
        },
      }, { highWaterMark: 0 });
    },
    remove,
    sweep: async (before) => Number((await pgOne<{ n: number }>(pool, pgText(SWEEP), [before]))?.n ?? 0),
  };
}

/** The upload's bytes into chunks of IMPORT_CHUNK, each one autocommitted INSERT (no connection held between). */
function chunkWriter(pool: PgPool, name: string): WritableStream<Uint8Array> {
  const buffer = new Uint8Array(IMPORT_CHUNK);
  let size = 0;
  let seq = 0;
  let stored = Date.now();
  const store = async () => {
    if (size === 0) return;
    await pgRun(pool, pgText(INSERT_CHUNK), [name, seq, buffer.subarray(0, size), Date.now()]);
    seq++;
    size = 0;
    stored = Date.now();
  };
  return new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let at = 0; at < chunk.byteLength;) {
        const n = Math.min(chunk.byteLength - at, IMPORT_CHUNK - size);
        buffer.set(chunk.subarray(at, at + n), size);
        size += n;
        at += n;
        if (size === IMPORT_CHUNK) await store();
      }
      if (Date.now() - stored >= REFRESH_MS) await store();
    },
    close: store,
  });
}
