/**
 * Online backups of the SQLite database with SQLite's backup API (`backup()` of node:sqlite) in one step: the
 * copy is made inside one read transaction, so it is a consistent snapshot, and writers in this and other
 * processes carry on meanwhile (WAL mode lets them). A step-by-step copy would restart whenever another
 * connection wrote, never finishing under load; `VACUUM INTO` needs ATTACH, which Deno allows only with
 * --allow-all. The copy is written beside its target under a temporary name, owner-only from its first byte
 * (it holds the same secrets as the data dir), switched to a rollback journal (one self-contained file),
 * synced, then renamed into place: a backup file either is whole or is not there.
 *
 * The Deno KV file is not backed up: it holds only wake-ups and retry delays (src/jobs/queue.ts), and the
 * sweeper re-derives every due piece of work from SQLite at start (src/jobs/sweeper.ts, the notifier's lanes).
 */
import { backup, DatabaseSync } from "node:sqlite";
import type { Db } from "./sqlite.ts";

/** What a backup wrote. */
export interface BackupResult {
  path: string;
  bytes: number;
}

/** `2026-11-30T13:05:01.123Z` → `20261130T130501Z`: sortable, and a valid file name everywhere. */
export function fileStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}

/** Scheduled and CLI backups are named `dci-<stamp>.sqlite`; retention prunes only names of this shape. */
export const BACKUP_NAME = /^dci-\d{8}T\d{6}Z\.sqlite$/;

/** The default name of a backup taken at `ms` in `dir`. */
export function backupPath(dir: string, ms: number): string {
  return `${dir}/dci-${fileStamp(ms)}.sqlite`;
}

/**
 * Writes a consistent copy of `db` (an open connection, or the path of a database file) to `target`, which
 * must not exist. The directory is created owner-only if missing.
 */
export async function backupDatabase(db: Db | string, target: string): Promise<BackupResult> {
  // The source file must exist: opening a missing path would create an empty database.
  if (typeof db === "string" && !await exists(db)) throw new Deno.errors.NotFound(`no database at ${db}`);
  const dir = target.includes("/") ? target.slice(0, target.lastIndexOf("/")) || "/" : ".";
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  if (await exists(target)) throw new Deno.errors.AlreadyExists(`${target} exists: choose another name`);
  const partial = `${target}.partial-${crypto.randomUUID().slice(0, 8)}`;
  // An empty file is an empty database to SQLite: created here first so that it is owner-only throughout.
  await Deno.writeFile(partial, new Uint8Array(), { createNew: true, mode: 0o600 });
  const own = typeof db === "string";
  // Read-write, though nothing is written: a read-only connection cannot always read a WAL database whose
  // -shm file is missing.
  const conn = own ? new DatabaseSync(db) : db;
  try {
    if (own) conn.exec("PRAGMA busy_timeout = 5000");
    // rate -1: every page in one step, under one read transaction (see the top of this file).
    await backup(conn, partial, { rate: -1 });
    const copy = new DatabaseSync(partial);
    try {
      copy.exec("PRAGMA journal_mode = DELETE");
      // A database with bad pages is copied faithfully: checked here, so that a corrupt copy fails the backup
      // (and the retention that would delete the good ones before it never runs).
      let found: string[];
      try {
        found = copy.prepare("PRAGMA quick_check(5)").all().map((r) => String(Object.values(r)[0]));
      } catch (err) {
        found = [(err as Error).message]; // a page so damaged that the check itself stops
      }
      if (found.join() !== "ok") {
        throw new Error(
          `the copy failed SQLite's integrity check (the database may be damaged): ${found.join("; ")}`,
        );
      }
    } finally {
      copy.close();
    }
  } catch (err) {
    await Deno.remove(partial).catch(() => {});
    throw err;
  } finally {
    if (own) conn.close();
  }
  await syncFile(partial);
  // A hard link, not a rename: it fails if the target appeared meanwhile (two backups in one second) instead of
  // replacing it, so an existing file is never overwritten. A file system without hard links (exFAT, an SMB
  // share) gets a rename after one more look for the target.
  try {
    await Deno.link(partial, target);
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists || !noHardLinks(err)) throw err;
    if (await exists(target)) throw new Deno.errors.AlreadyExists(`${target} exists: choose another name`);
    await Deno.rename(partial, target);
  } finally {
    await Deno.remove(partial).catch(() => {});
  }
  await syncFile(dir).catch(() => {/* a directory cannot be opened for sync on every platform */});
  return { path: target, bytes: (await Deno.stat(target)).size };
}

/** Whether `err` says the file system has no hard links (EPERM, ENOTSUP/EOPNOTSUPP, ENOSYS, EXDEV). */
function noHardLinks(err: unknown): boolean {
  const code = (err as { code?: unknown }).code;
  return err instanceof Deno.errors.PermissionDenied || err instanceof Deno.errors.NotSupported ||
    ["EPERM", "ENOTSUP", "EOPNOTSUPP", "ENOSYS", "EXDEV"].includes(String(code));
}

/**
 * The temporary file of a backup being written (and its journal, or the WAL and shared memory a copy killed
 * before its switch to the rollback journal left): `<target>.partial-<8 hex>[-journal|-wal|-shm]`.
 */
const PARTIAL_NAME = /\.sqlite\.partial-[0-9a-f]{8}(-journal|-wal|-shm)?$/;

/** How old (unchanged) a partial file must be to be one a killed backup left: a live copy writes it throughout. */
export const STALE_PARTIAL_MS = 60 * 60_000;

/**
 * Deletes the oldest backups named `dci-<stamp>.sqlite` in `dir` beyond the newest `keep`, and the partial files
 * of backups killed while writing (unchanged for STALE_PARTIAL_MS; `keep` Infinity: those alone); other files
 * (the pre-migration backups, anything the operator put there) are never touched. Returns the paths deleted.
 */
export async function pruneBackups(dir: string, keep: number, nowMs = Date.now()): Promise<string[]> {
  const names: string[] = [];
  const stale: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    if (!e.isFile) continue;
    if (BACKUP_NAME.test(e.name)) names.push(e.name);
    else if (PARTIAL_NAME.test(e.name)) {
      const modified = (await Deno.stat(`${dir}/${e.name}`).catch(() => undefined))?.mtime?.getTime();
      if (modified !== undefined && nowMs - modified > STALE_PARTIAL_MS) stale.push(`${dir}/${e.name}`);
    }
  }
  names.sort();
  const old = [
    ...names.slice(0, Math.max(0, names.length - keep)).map((n) => `${dir}/${n}`),
    ...stale.sort(),
  ];
  for (const path of old) {
    await Deno.remove(path).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
  return old;
}

export async function syncFile(path: string): Promise<void> {
  using f = await Deno.open(path, { read: true });
  await f.sync();
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return false;
    throw err;
  }
}
