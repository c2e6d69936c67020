/**
 * Tests of a store run against both backends: `backendTest(name, fn)` registers `name [sqlite]` on a fresh,
 * migrated in-memory SQLite database and `name [postgres]` on a fresh, migrated database of the shared test cluster
 * (tests/helpers/postgres.ts `sharedPostgres`). Neither is skipped: without PostgreSQL the second one fails.
 */
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate } from "../../src/db/migrate.ts";
import { sqliteStorage, type Storage } from "../../src/db/storage.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { migratePg } from "../../src/db/pg/migrate.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { pgAll, pgText, type PgValue } from "../../src/db/pg/query.ts";
import { sharedPostgres } from "./postgres.ts";

/**
 * Runs one statement written in SQLite's dialect with `?` placeholders (numbered for PostgreSQL) directly on the
 * test's database, for setting up rows of tables whose store is not the one under test, and for looking behind a
 * store; returns the rows.
 */
export type RawSql = (text: string, values?: PgValue[]) => Promise<Record<string, unknown>[]>;

/** One fresh, migrated Storage of `kind` (its `close` disposes of the database) and raw access to it. */
export async function freshStorage(kind: Storage["kind"]): Promise<{ storage: Storage; sql: RawSql }> {
  if (kind === "sqlite") {
    const db = openDatabase(":memory:");
    migrate(db);
    const storage = sqliteStorage(db);
    return {
      storage: { ...storage, close: async () => (await storage.close(), db.close()) },
      sql: (text, values = []) =>
        Promise.resolve(db.prepare(text).all(...values as never[]) as Record<string, unknown>[]),
    };
  }
  const cluster = await sharedPostgres();
  const url = await cluster.createDatabase(`t_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`);
  const pool = openPgPool(url, { max: 4 });
  try {
    await migratePg(pool);
  } catch (err) {
    await pool.end();
    throw err;
  }
  return { storage: pgStorage(pool), sql: (text, values = []) => pgAll(pool, pgText(text), values) };
}

/** Registers `fn` twice, once per backend, each with its own fresh database. */
export function backendTest(name: string, fn: (storage: Storage, sql: RawSql) => Promise<void>): void {
  for (const kind of ["sqlite", "postgres"] as const) {
    Deno.test(`${name} [${kind}]`, async () => {
      const { storage, sql } = await freshStorage(kind);
      try {
        await fn(storage, sql);
      } finally {
        await storage.close();
      }
    });
  }
}
