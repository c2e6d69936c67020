/** Opening the SQLite database with the pragmas every connection needs, and taking its write lock. */
import { DatabaseSync } from "node:sqlite";
import { isDatabaseBusy, isStorageFull, noteStorageFull, noteWriteSucceeded } from "./faults.ts";
import { explainOpenFailure } from "./open_failure.ts";
import { installStatementBudget } from "./budget.ts";

/** The database handle used across the server. */
export type Db = DatabaseSync;

/** How long a write waits for a lock held by another connection (isolate or process), in ms. */
export const BUSY_TIMEOUT_MS = 5000;

/**
 * How long a connection that serves HTTP may block its event loop waiting for the write lock (a write outside
 * the group commit, e.g. an admin change): past it the write fails, the request answers 503, and `/healthz` and
 * reads keep answering meanwhile. The group commit waits for the lock asynchronously instead (up to
 * BUSY_TIMEOUT_MS).
 */
export const SERVING_BUSY_TIMEOUT_MS = 100;

/** The synchronous lock wait of each connection, when not BUSY_TIMEOUT_MS. */
const busyTimeouts = new WeakMap<Db, number>();

/**
 * WAL pages after which a commit checkpoints (SQLite's wal_autocheckpoint; its default is 1,000). The pages every
 * commit changes (the tails of the transactions' and notifications' indexes) are copied into the file once per
 * checkpoint, and each checkpoint costs two fsyncs: four times fewer of both, for a WAL of ~16 MB between
 * checkpoints. A WAL grown past that (a bulk load's batches, a checkpoint held off by a long read) is cut back
 * to WAL_SIZE_LIMIT_BYTES when a checkpoint resets it (journal_size_limit), not kept at its largest size.
 * Measured in session 36 on 2,000 inline async searches of 10 items: lookups/s +4 % (median of 11 interleaved
 * pairs, −20 to +34 %, this machine's spread), the run's fsyncs 367 → 67 at 10,000 pages (strace).
 */
export const WAL_CHECKPOINT_PAGES = 4000;

/** The size a reset WAL file is truncated to (SQLite's journal_size_limit): a checkpoint's worth and more. */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * Opens (creating if needed) the SQLite file at `path`, or an in-memory database for ":memory:". The page cache
 * (`cacheMb` per connection) is what a connection keeps of the file beyond the OS cache; it only grows, so it
 * is kept small: a miss is a read from the OS cache, microseconds.
 */
export function openDatabase(path: string, options: { cacheMb?: number } = {}): Db {
  let db: Db | undefined;
  try {
    db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
    // busy_timeout comes first: switching to (or checking) WAL needs a lock that another connection may hold
    // for a moment, e.g. the last one to close a WAL file checkpoints it. Set later, an open racing a close
    // failed at once with "database is locked" (a killed import in CI).
    // WAL lets readers run beside the one writer. synchronous=NORMAL survives a process crash (SIGKILL),
    // which is the failure the durability design is built for; FULL would cut single-row writes to a quarter.
    db.exec(`
      PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS};
      PRAGMA journal_mode = WAL;
      PRAGMA wal_autocheckpoint = ${WAL_CHECKPOINT_PAGES};
      PRAGMA journal_size_limit = ${WAL_SIZE_LIMIT_BYTES};
      PRAGMA synchronous = NORMAL;
      PRAGMA foreign_keys = ON;
      PRAGMA temp_store = MEMORY;
      PRAGMA cache_size = -${Math.round((options.cacheMb ?? 8) * 1000)};
    `);
    installStatementBudget(db);
    return db;
  } catch (err) {
    if (db?.isOpen) db.close();
    // SQLite names neither the file nor the cause (a read-only or missing data dir, a permission).
    throw explainOpenFailure(path, err);
  }
}

/**
 * Sets how long a synchronous statement of `db` waits for another connection's lock (SQLite's busy_timeout, and
 * `beginImmediate`'s spin). A connection serving HTTP uses SERVING_BUSY_TIMEOUT_MS: a wait blocks its isolate.
 */
export function setBusyTimeout(db: Db, ms: number): void {
  db.exec(`PRAGMA busy_timeout = ${Math.max(0, Math.round(ms))}`);
  busyTimeouts.set(db, ms);
}

function busyTimeoutOf(db: Db): number {
  return busyTimeouts.get(db) ?? BUSY_TIMEOUT_MS;
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * Tries BEGIN IMMEDIATE for up to `spinMs`, in steps of ~50 µs. SQLite's own busy handler sleeps 1, 2, 5, 10 ms…
 * between tries, so two isolates whose sub-millisecond writes meet would lose milliseconds each time (the async
 * ACK's p99); here a wait lasts about as long as the other writer's commit. Returns undefined once the
 * transaction has begun, or the "database is locked" error when the lock stayed taken; throws any other error.
 */
export function tryBeginImmediate(db: Db, spinMs: number): Error | undefined {
  db.exec("PRAGMA busy_timeout = 0");
  try {
    const deadline = performance.now() + spinMs;
    for (;;) {
      try {
        db.exec("BEGIN IMMEDIATE");
        return undefined;
      } catch (err) {
        if (!isDatabaseBusy(err)) throw err;
        if (performance.now() >= deadline) return err as Error;
        Atomics.wait(pause, 0, 0, 0.05);
      }
    }
  } finally {
    db.exec(`PRAGMA busy_timeout = ${busyTimeoutOf(db)}`);
  }
}

/** BEGIN IMMEDIATE, waiting synchronously up to the connection's busy timeout; throws "database is locked". */
export function beginImmediate(db: Db): void {
  const locked = tryBeginImmediate(db, busyTimeoutOf(db));
  if (locked) throw locked;
}

/** Runs `fn` in the write transaction just begun on `db`: COMMIT on success, ROLLBACK (and rethrow) on error. */
export function finishTransaction<T>(db: Db, fn: () => T): T {
  try {
    const result = fn();
    db.exec("COMMIT");
    noteWriteSucceeded(db);
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    if (isStorageFull(err)) noteStorageFull(db, err);
    throw err;
  }
}

/**
 * Runs `fn` inside the write transaction open on `db`, leaving it open (a transaction that spans several awaited
 * steps, e.g. an import batch arriving in chunks); on error rolls it back and rethrows.
 */
export function withinTransaction<T>(db: Db, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    if (isStorageFull(err)) noteStorageFull(db, err);
    throw err;
  }
}

/**
 * Runs the synchronous reads of `fn` in one read transaction, so they share one snapshot (another connection's
 * commit between two of them is not seen), or in the transaction already open on `db`. Cheaper too: an
 * autocommit read takes and drops its read locks each time.
 */
export function readSnapshot<T>(db: Db, fn: () => T): T {
  if (db.isTransaction) return fn();
  db.exec("BEGIN");
  try {
    return fn();
  } finally {
    if (db.isTransaction) db.exec("COMMIT");
  }
}

/** Runs `fn` inside a write transaction (BEGIN IMMEDIATE), committing on success and rolling back on error. */
export function transaction<T>(db: Db, fn: () => T): T {
  beginImmediate(db);
  return finishTransaction(db, fn);
}
