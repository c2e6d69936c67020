/**
 * The data-dir lock: tells a running server apart from a data dir nobody serves, so that `restore` never
 * replaces a database under a live server, and a server does not start in the middle of a restore.
 *
 * It is SQLite's own file locking on a small file beside the database (`serve.lock`): a server holds a read
 * transaction on it (a SHARED lock) for as long as it runs; several servers may share a data dir (one of them
 * the worker), so several SHARED locks may coexist. A restore takes an EXCLUSIVE lock, which SQLite grants only
 * when no SHARED lock is held, and keeps it until it is done. The locks are the operating system's (POSIX
 * advisory locks, or LockFileEx on Windows), so they end with the process, however it ends: no stale lock
 * file after a crash or a SIGKILL.
 */
import { DatabaseSync } from "node:sqlite";
import { isDatabaseBusy } from "./faults.ts";

/** The lock file's name inside the data dir. */
export const LOCK_FILE = "serve.lock";

/** A held lock; `release()` is safe to call twice. */
export interface DataDirLock {
  release(): void;
}

/** The data dir is held by someone else: a running server (for `restore`) or a restore (for `serve`). */
export class DataDirBusyError extends Error {}

/** Opens the lock file and runs `take` on it; SQLITE_BUSY anywhere (even the pragma) means `busy`. */
function take(dataDir: string, busy: string, lock: (db: DatabaseSync) => void): DataDirLock {
  const path = `${dataDir}/${LOCK_FILE}`;
  try {
    // Owner-only like every file of the data dir (SQLite would create it 0644).
    Deno.writeFileSync(path, new Uint8Array(), { createNew: true, mode: 0o600 });
  } catch (err) {
    if (!(err instanceof Deno.errors.AlreadyExists)) throw err;
  }
  const db = new DatabaseSync(path);
  try {
    // Rollback-journal mode (not WAL): its SHARED and EXCLUSIVE locks are what tells a reader from a writer.
    db.exec("PRAGMA busy_timeout = 0; PRAGMA journal_mode = DELETE");
    lock(db);
  } catch (err) {
    db.close();
    throw isDatabaseBusy(err) ? new DataDirBusyError(busy) : err;
  }
  return {
    release() {
      if (!db.isOpen) return;
      if (db.isTransaction) db.exec("ROLLBACK");
      db.close();
    },
  };
}

/** Holds the data dir as a running server (shared with other servers); refused while a restore holds it. */
export function holdServeLock(dataDir: string): DataDirLock {
  return take(
    dataDir,
    `the data dir ${dataDir} is being restored (dci-server restore): start the server once that is done`,
    (db) => {
      db.exec("BEGIN");
      // Reading the schema page takes the SHARED lock, held until the transaction ends.
      db.prepare("SELECT count(*) AS n FROM sqlite_master").get();
    },
  );
}

/** Holds the data dir alone (for a restore); refused while any server (or another restore) holds it. */
export function holdExclusiveLock(dataDir: string): DataDirLock {
  return take(
    dataDir,
    `a server is running on the data dir ${dataDir} (or a restore is): stop it first, then restore`,
    (db) => db.exec("BEGIN EXCLUSIVE"),
  );
}
