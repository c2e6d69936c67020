/**
 * Where an uploaded import file waits for the runner (Storage `importSpools`): the raw bytes of the upload, written
 * once as they arrive and read once from the start (again from the start when a job resumes). The interface both
 * backends serve, and its embedded implementation: one file per spool under `<data dir>/imports`, which the parse
 * worker opens by path, as it always has (pg_spool_store.ts keeps them in PostgreSQL, where any instance reads
 * what another received). Not the bulk search's SpoolStore: that one holds normalised lines read by offset, this
 * one arbitrary bytes read as one stream, and each is swept by the state of its own jobs.
 */
import type { Db } from "../../db/sqlite.ts";
import type { ImportSource } from "../parse_pool.ts";
import { openSpoolFiles } from "./store.ts";
import { newSpoolName, spoolDir, type Spooled, spoolPath, uploadMeter } from "./spool.ts";

/** The import upload spools, on one backend. Names are the store's own (`import-<uuid>.upload`). */
export interface ImportSpoolStore {
  /**
   * Streams `body` into a new spool; resolves with its name, size and first character. A stream that fails (over
   * the size limit, the client gone) leaves nothing behind and rejects with the stream's error.
   */
  write(body: ReadableStream<Uint8Array>): Promise<Spooled>;
  /** What the parser reads spool `name` from (a path, or a stream of its bytes), or undefined when it is gone. */
  source(name: string): Promise<ImportSource | undefined>;
  /** Removes spool `name` (its job ended, or was never created); a missing one is no error. */
  remove(name: string): Promise<void>;
  /**
   * Removes the spools of no open (queued or running) job last written at or before `before` (epoch ms): an
   * upload cut off by a crash, or an ended job's spool whose removal was lost. Safe while other instances upload
   * and run jobs, given a `before` older than any upload in progress; returns how many.
   */
  sweep(before: number): Promise<number>;
}

/**
 * The spools as files under `<dataDir>/imports` (created on first use); `db` tells the sweep which jobs are open.
 * An in-memory database (`:memory:`) spools to the system temp dir and never sweeps it (other processes' too).
 */
export function sqliteImportSpoolStore(db: Db, dataDir: string): ImportSpoolStore {
  const config = { dataDir };
  return {
    async write(body) {
      const dir = spoolDir(config);
      await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
      const name = newSpoolName();
      const path = spoolPath(config, name);
      const file = await Deno.open(path, { write: true, createNew: true, mode: 0o600 });
      const meter = uploadMeter();
      try {
        await body.pipeThrough(meter.stream).pipeTo(file.writable);
      } catch (err) {
        await Deno.remove(path).catch(() => {});
        throw err;
      }
      return meter.spooled(name);
    },
    async source(name) {
      const path = spoolPath(config, name);
      return await Deno.stat(path).then(() => path, () => undefined);
    },
    remove: (name) => Deno.remove(spoolPath(config, name)).catch(() => {}),
    sweep: (before) => sweepFiles(db, dataDir, before),
  };
}

/** Removes the spool files of no open job last modified at or before `before`; returns how many. */
async function sweepFiles(db: Db, dataDir: string, before: number): Promise<number> {
  if (dataDir === ":memory:") return 0;
  const dir = spoolDir({ dataDir });
  const entries = await Array.fromAsync(Deno.readDir(dir)).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  });
  // Read after the listing: a job created since still finds its file (one older than `before` has its job long
  // since, or none for good).
  const open = openSpoolFiles(db);
  let removed = 0;
  for (const entry of entries) {
    if (!entry.isFile || !entry.name.endsWith(".upload") || open.has(entry.name)) continue;
    const path = `${dir}/${entry.name}`;
    const modified = (await Deno.stat(path).catch(() => undefined))?.mtime?.getTime();
    if (modified === undefined || modified > before) continue;
    await Deno.remove(path).then(() => removed++, () => {});
  }
  return removed;
}
