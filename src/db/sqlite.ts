/** Opening the SQLite database with the pragmas every connection needs. */
import { DatabaseSync } from "node:sqlite";

/** The database handle used across the server. */
export type Db = DatabaseSync;

/** Opens (creating if needed) the SQLite file at `path`, or an in-memory database for ":memory:". */
export function openDatabase(path: string): Db {
  const db = new DatabaseSync(path, { enableForeignKeyConstraints: true });
  // WAL lets readers run beside the one writer. synchronous=NORMAL survives a process crash (SIGKILL),
  // which is the failure the durability design is built for; FULL would cut single-row writes to a quarter.
  db.exec(`
    PRAGMA journal_mode = WAL;
    PRAGMA synchronous = NORMAL;
    PRAGMA busy_timeout = 5000;
    PRAGMA foreign_keys = ON;
    PRAGMA temp_store = MEMORY;
    PRAGMA cache_size = -32000;
  `);
  return db;
}

/** Runs `fn` inside a write transaction (BEGIN IMMEDIATE), committing on success and rolling back on error. */
export function transaction<T>(db: Db, fn: () => T): T {
  db.exec("BEGIN IMMEDIATE");
  try {
    const result = fn();
    db.exec("COMMIT");
    return result;
  } catch (err) {
    if (db.isTransaction) db.exec("ROLLBACK");
    throw err;
  }
}
