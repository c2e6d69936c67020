/**
 * Where the lookups of a bulk search wait between its upload and its pages: a spool of normalised lines, written
 * once as the upload is parsed and read by character offset as pages are built. The interface both backends
 * serve, and its embedded implementation: one file per spool under `<data dir>/bulk` (src/transactions/
 * pg_spool_store.ts keeps them in PostgreSQL, where any instance reads what another received).
 */
import { dirname, join } from "node:path";
import type { Db } from "../db/sqlite.ts";
import { bulkSpoolDir } from "./bulk_spool_dir.ts";
import { spoolNeeded } from "./bulk_store.ts";

/** A spool being written: lines go in as they are parsed, then it is committed whole or aborted. */
export interface SpoolWriter {
  /** Appends one line (ASCII, without its newline); written out a buffer at a time. Synchronous: parsers call it. */
  line(text: string): void;
  /** A write is under way (PostgreSQL): the caller awaits `flush()` before feeding more, so memory stays bounded. */
  readonly busy: boolean;
  /** Resolves once the writes under way are stored; rejects with a SpoolError if one failed. */
  flush(): Promise<void>;
  /** Marks the spool as still arriving, so the orphan sweep leaves a slow upload alone. */
  touch(): void;
  /** Stores what is buffered and makes the whole spool durable; the writer is done. */
  commit(): Promise<void>;
  /** Removes everything written; the writer is done. Never throws (the orphan sweep removes what it could not). */
  abort(): Promise<void>;
}

/** Lines read from a spool and the offset after the last one. */
export interface SpoolPage {
  lines: string[];
  next: number;
}

/** Reads a committed spool. */
export interface SpoolReader {
  /**
   * Up to `count` lines from character offset `offset` (0, or a `next` this reader returned); none past the end,
   * nor of a removed spool.
   */
  read(offset: number, count: number): Promise<SpoolPage>;
}

/** The bulk search spools. Names are the upload route's (`<uuid>.lookups`), stored in bulk_searches.spool. */
export interface SpoolStore {
  /** A new, empty spool `name`. */
  create(name: string): Promise<SpoolWriter>;
  /** The reader of spool `name`. */
  reader(name: string): SpoolReader;
  /** Removes spool `name` (done with, or refused); a missing one is no error. */
  remove(name: string): Promise<void>;
  /**
   * Removes the spools no bulk search still reads (an upload that crashed or was refused, a finished search's
   * spool that outlived it) last written at or before `before` (epoch ms); returns how many.
   */
  sweep(before: number): Promise<number>;
}

/** A spool could not be written (a storage failure, not a fault of the uploaded file). */
export class SpoolError extends Error {}

/** The largest text the file writer buffers before writing it out. */
const FLUSH_AT = 64 * 1024;
/** The names the upload route gives spool files; nothing else in the directory is touched. */
const SPOOL_NAME = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.lookups$/;
/** A name that cannot leave the spool directory. */
const SAFE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9._-]*$/;

/**
 * The spools as files under `<dataDir>/bulk` (created on first use); `db` tells the sweep which are still needed.
 * An in-memory database (`:memory:`) spools to one temporary directory per process and never sweeps it.
 */
export function sqliteSpoolStore(db: Db, dataDir: string): SpoolStore {
  const path = (name: string) => {
    if (!SAFE_NAME.test(name)) throw new Error(`not a spool name: ${JSON.stringify(name)}`);
    return join(bulkSpoolDir({ dataDir }), name);
  };
  return {
    async create(name) {
      const file = await Deno.open(path(name), { write: true, createNew: true, mode: 0o600 });
      return fileWriter(file, path(name));
    },
    reader: (name) => ({ read: (offset, count) => readFileLines(path(name), offset, count) }),
    remove: (name) => Deno.remove(path(name)).catch(() => {}),
    sweep: (before) => sweepFiles(db, dataDir, before),
  };
}

/** Line writes to the file, buffered and written synchronously (the parse callbacks are synchronous). */
function fileWriter(file: Deno.FsFile, path: string): SpoolWriter {
  const encoder = new TextEncoder();
  let buffer: string[] = [];
  let size = 0;
  let open = true;
  const write = () => {
    if (buffer.length === 0) return;
    const bytes = encoder.encode(buffer.join(""));
    try {
      for (let at = 0; at < bytes.length;) at += file.writeSync(bytes.subarray(at));
    } catch (err) {
      throw new SpoolError(`the bulk spool could not be written: ${(err as Error).message}`, { cause: err });
    }
    buffer = [];
    size = 0;
  };
  const close = () => {
    if (open) file.close();
    open = false;
  };
  return {
    line(text) {
      buffer.push(text, "\n");
      size += text.length + 1;
      if (size >= FLUSH_AT) write();
    },
    busy: false,
    flush: () => Promise.resolve(),
    touch() {
      const now = new Date();
      if (open) file.utimeSync(now, now);
    },
    commit() {
      try {
        write();
        file.syncSync();
      } finally {
        close();
      }
      // The file's name too: a new file's directory entry is durable only once its directory is synced, and
      // the upload is ACKed after this (a power loss could otherwise leave the stored search without its file).
      const dir = Deno.openSync(dirname(path), { read: true });
      try {
        dir.syncSync();
      } finally {
        dir.close();
      }
      return Promise.resolve();
    },
    async abort() {
      close();
      await Deno.remove(path).catch(() => {});
    },
  };
}

/** Reads up to `count` lines of file `path` from byte `offset` (the lines are ASCII: bytes are characters). */
async function readFileLines(path: string, offset: number, count: number): Promise<SpoolPage> {
  const file = await Deno.open(path, { read: true }).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return undefined;
    throw err;
  });
  if (!file) return { lines: [], next: offset };
  try {
    await file.seek(offset, Deno.SeekMode.Start);
    const decoder = new TextDecoder("latin1");
    const chunk = new Uint8Array(256 * 1024);
    return await readLines(offset, count, async () => {
      const n = await file.read(chunk);
      return n === null ? "" : decoder.decode(chunk.subarray(0, n));
    });
  } finally {
    file.close();
  }
}

/**
 * Up to `count` lines from `offset`, the text pulled on through `more()` (each call the text after the last, ""
 * at the end); a line cut between two pulls is joined.
 */
export async function readLines(
  offset: number,
  count: number,
  more: () => Promise<string>,
): Promise<SpoolPage> {
  const lines: string[] = [];
  let rest = "";
  let next = offset;
  while (lines.length < count) {
    const got = await more();
    if (got === "") break;
    const text = rest + got;
    let at = 0;
    let nl: number;
    while (lines.length < count && (nl = text.indexOf("\n", at)) >= 0) {
      lines.push(text.slice(at, nl));
      next += nl + 1 - at;
      at = nl + 1;
    }
    rest = text.slice(at);
  }
  return { lines, next };
}

/** Removes the spool files of no live bulk search last modified at or before `before`; returns how many. */
async function sweepFiles(db: Db, dataDir: string, before: number): Promise<number> {
  // An in-memory process shares one temporary spool directory between its databases (tests): none of them
  // could tell another's files from orphans, and the directory ends with the process's data anyway.
  if (dataDir === ":memory:") return 0;
  // Not created here: a data dir that never took an upload has no spool directory, and gets none.
  const dir = bulkSpoolDir({ dataDir }, { create: false });
  let removed = 0;
  const entries = await Array.fromAsync(Deno.readDir(dir)).catch((err) => {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  });
  for (const entry of entries) {
    if (!entry.isFile || !SPOOL_NAME.test(entry.name)) continue;
    const path = join(dir, entry.name);
    const modified = (await Deno.stat(path).catch(() => undefined))?.mtime?.getTime();
    if (modified === undefined || modified > before || spoolNeeded(db, entry.name)) continue;
    await Deno.remove(path).then(() => removed++, () => {});
  }
  return removed;
}
