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
import { sharedPostgres } from "./postgres.ts";

/** One fresh, migrated Storage of `kind`, and how to dispose of it. */
export async function freshStorage(kind: Storage["kind"]): Promise<Storage> {
  if (kind === "sqlite") {
    const db = openDatabase(":memory:");
    migrate(db);
    const storage = sqliteStorage(db);
    return { ...storage, close: async () => (await storage.close(), db.close()) };
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
  return pgStorage(pool);
}

/** Registers `fn` twice, once per backend, each with its own fresh database. */
export function backendTest(name: string, fn: (storage: Storage) => Promise<void>): void {
  for (const kind of ["sqlite", "postgres"] as const) {
    Deno.test(`${name} [${kind}]`, async () => {
      const storage = await freshStorage(kind);
      try {
        await fn(storage);
      } finally {
        await storage.close();
      }
    });
  }
}
