/**
 * The stores of a server's or CLI's data dir, whichever backend the test pass runs: its SQLite file, or on the
 * PostgreSQL pass the database standing for it (tests/helpers/server.ts).
 */
import { openDatabase } from "../../src/db/sqlite.ts";
import { sqliteStorage, type Storage } from "../../src/db/storage.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { pgAll, pgText } from "../../src/db/pg/query.ts";
import { dataDirDatabaseUrl } from "../helpers/server.ts";
import type { RawSql } from "../helpers/storage.ts";

/**
 * Runs `fn` with the stores of `dataDir`'s database and its raw SQL (SQLite's dialect, `?` placeholders, as
 * `deps.sql`), closing what it opened afterwards.
 */
export async function withDataDirStorage<T>(
  dataDir: string,
  fn: (storage: Storage, sql: RawSql) => Promise<T>,
): Promise<T> {
  const url = await dataDirDatabaseUrl(dataDir);
  if (url !== undefined) {
    const pool = openPgPool(url, { max: 1 });
    try {
      return await fn(pgStorage(pool), (text, values = []) => pgAll(pool, pgText(text), values));
    } finally {
      await pool.end();
    }
  }
  const db = openDatabase(`${dataDir}/dci.sqlite`);
  try {
    return await fn(
      sqliteStorage(db, dataDir),
      (text, values = []) =>
        Promise.resolve(db.prepare(text).all(...values as never[]) as Record<string, unknown>[]),
    );
  } finally {
    db.close();
  }
}
