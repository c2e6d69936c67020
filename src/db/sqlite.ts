/** Opening the SQLite database with the pragmas every connection needs. */
import { DatabaseSync } from "node:sqlite";
import { installStatementBudget } from "./budget.ts";

/** The database handle used across the server. */
export type Db = DatabaseSync;

/**
 * Opens (creating if needed) the SQLite file at `path`, or an in-memory database for ":memory:". The page cache
 * (`cacheMb` per connection) is what a connection keeps of the file beyond the OS cache; it only grows, so it
 * is kept small: a miss is a read from the OS cache, microseconds.
 */
export function openDatabase(path: string, options: { cacheMb?: number } = {}): Db {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
  // busy_timeout comes first: switching to (or checking) WAL needs a lock that another connection may hold for
  // a moment, e.g. the last one to close a WAL file checkpoints it. Set later, an open racing a close failed
  // at once with "database is locked" (a killed import in CI).
  // WAL lets readers run beside the one writer. synchronous=NORMAL survives a process crash (SIGKILL),
  // which is the failure the durability design is built for; FULL would cut single-row writes to a quarter.
  db.exec(`
    PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS};
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA foreign_keys = ON;
    PRAGMA temp_store = MEMORY;
    PRAGMA cache_size = -${Math.round((options.cacheMb ?? 8) * 1000)};
  `);
  installStatementBudget(db);
  return db;
}

/** How long the connection waits for a lock held by another connection (isolate or process), in ms. */
export const BUSY_TIMEOUT_MS = 5000;

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * BEGIN IMMEDIATE, waiting for another connection's write transaction in steps of ~50 µs. SQLite's own busy
 * handler sleeps 1, 2, 5, 10 ms… between tries, so two isolates whose sub-millisecond writes meet would lose
 * milliseconds each time (the async ACK's p99); here a wait lasts about as long as the other writer's commit.
 */
export function beginImmediate(db: Db): void {
  db.exec("PRAGMA busy_timeout = 0");
  try {
    const deadline = performance.now() + BUSY_TIMEOUT_MS;
    for (;;) {
      try {
        db.exec("BEGIN IMMEDIATE");
        return;
      } catch (err) {
        if (!/database is locked/.test((err as Error).message) || performance.now() > deadline) throw err;
        Atomics.wait(pause, 0, 0, 0.05);
      }
    }
  } finally {
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
  }
}

/** Runs `fn` inside a write transaction (BEGIN IMMEDIATE), committing on success and rolling back on error. */
export function transaction<T>(db: Db, fn: () => T): T {
  beginImmediate(db);
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}
