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
 *
 * The server that runs the worker also holds an EXCLUSIVE lock on a second file (`worker.lock`): the worker
 * assumes it is the only one on its SQLite database (at start it frees every lease a dead worker left), so a
 * second server started with the worker on is refused rather than taking the first one's work from under it.
 */
import { DatabaseSync } from "node:sqlite";
import { isDatabaseBusy } from "./faults.ts";
import { giveNewFileToDataDirOwner } from "./data_dir.ts";

/** The lock file's name inside the data dir. */
export const LOCK_FILE = "serve.lock";
/** The worker's lock file inside the data dir. */
export const WORKER_LOCK_FILE = "worker.lock";

/** A held lock; `release()` is safe to call twice. */
export interface DataDirLock {
  release(): void;
}

/** The data dir is held by someone else: a running server (for `restore`) or a restore (for `serve`). */
export class DataDirBusyError extends Error {}

/** Opens the lock file and runs `take` on it; SQLITE_BUSY anywhere (even the pragma) means `busy`. */
function take(
  dataDir: string,
  busy: string,
  lock: (db: DatabaseSync) => void,
  file = LOCK_FILE,
): DataDirLock {
  const path = `${dataDir}/${file}`;
  try {
    // Owner-only like every file of the data dir (SQLite would create it 0644).
    Deno.writeFileSync(path, new Uint8Array(), { createNew: true, mode: 0o600 });
    giveNewFileToDataDirOwner(dataDir, path);
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

/**
 * Holds the data dir as a running server (shared with other servers); refused while a restore holds it. With
 * `worker` (a server running the worker on this SQLite data dir), also the worker's lock, held alone: refused while
 * another server runs the worker here.
 */
export function holdServeLock(dataDir: string, options: { worker?: boolean } = {}): DataDirLock {
  const serving = take(
    dataDir,
    `the data dir ${dataDir} is being restored (dci-server restore): start the server once that is done`,
    (db) => {
      db.exec("BEGIN");
      // Reading the schema page takes the SHARED lock, held until the transaction ends.
      db.prepare("SELECT count(*) AS n FROM sqlite_master").get();
    },
  );
  if (!options.worker) return serving;
  let working: DataDirLock;
  try {
    working = take(
      dataDir,
      `another server runs the worker on the data dir ${dataDir}: start this one with DCI_WORKER=false ` +
        "(one worker per SQLite data dir)",
      (db) => db.exec("BEGIN EXCLUSIVE"),
      WORKER_LOCK_FILE,
    );
  } catch (err) {
    serving.release();
    // A lock file that could not even be made (a read-only data dir) is the data dir's fault, which openDeps
    // explains; one that is there and cannot be used is this lock's: running the worker without it would let a
    // second server run the same work.
    if (err instanceof DataDirBusyError || !fileExists(`${dataDir}/${WORKER_LOCK_FILE}`)) throw err;
    throw new WorkerLockError(
      `the worker's lock file ${dataDir}/${WORKER_LOCK_FILE} cannot be used: ${(err as Error).message} ` +
        "(it must be writable by the user the server runs as)",
      { cause: err },
    );
  }
  return {
    release() {
      working.release();
      serving.release();
    },
  };
}

function fileExists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The data dir's worker lock file cannot be opened or locked (not another server holding it). */
export class WorkerLockError extends Error {}

/**
 * Whether a server runs the worker on this SQLite data dir now (holds its worker lock): a server started with
 * DCI_WORKER=false beside none accepts async requests that nothing processes.
 */
export function workerRunning(dataDir: string): boolean {
  try {
    take(dataDir, "", (db) => db.exec("BEGIN EXCLUSIVE"), WORKER_LOCK_FILE).release();
    return false;
  } catch (err) {
    if (err instanceof DataDirBusyError) return true;
    // A lock file no server can use: none runs the worker (one that would is refused at start: WorkerLockError).
    return false;
  }
}

/** Holds the data dir alone (for a restore); refused while any server (or another restore) holds it. */
export function holdExclusiveLock(dataDir: string): DataDirLock {
  return take(
    dataDir,
    `a server or a command (a backup, an import, …) has the data dir ${dataDir} open (or a restore does): stop it or let it finish, then restore`,
    (db) => db.exec("BEGIN EXCLUSIVE"),
  );
}
