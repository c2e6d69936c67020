/**
 * Store tests that must also reach under the store (rows an older version wrote, a second instance on the same
 * database): `backendSqlTest(name, fn)` runs `fn` on both backends, like `backendTest`, with a `sql` that runs a
 * constant statement written with `?` placeholders on the same database, and `twin()`, a second Storage on that
 * database (another instance; on SQLite the same handle, there being one process per data directory).
 */
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate } from "../../src/db/migrate.ts";
import { sqliteStorage, type Storage } from "../../src/db/storage.ts";
import { openPgPool, type PgPool } from "../../src/db/pg/pool.ts";
import { migratePg } from "../../src/db/pg/migrate.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { pgAll, pgText, type PgValue } from "../../src/db/pg/query.ts";
import { sharedPostgres } from "./postgres.ts";

/** Raw statements on a test's database (constant SQL text, bound values). */
export interface TestSql {
  all(text: string, ...values: PgValue[]): Promise<Record<string, unknown>[]>;
}

/** What a test gets: the store under test, raw SQL on its database, and a second instance's Storage. */
export interface BackendFixture {
  sql: TestSql;
  twin(): Storage;
}

/** Registers `fn` once per backend, each on its own fresh, migrated database. */
export function backendSqlTest(
  name: string,
  fn: (storage: Storage, f: BackendFixture) => Promise<void>,
): void {
  Deno.test(`${name} [sqlite]`, async () => {
    const db = openDatabase(":memory:");
    migrate(db);
    try {
      await fn(sqliteStorage(db), {
        sql: {
          all: (text, ...values) =>
            Promise.resolve(db.prepare(text).all(...values as never[]) as Record<string, unknown>[]),
        },
        twin: () => sqliteStorage(db),
      });
    } finally {
      db.close();
    }
  });
  Deno.test(`${name} [postgres]`, async () => {
    const cluster = await sharedPostgres();
    const url = await cluster.createDatabase(`t_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`);
    const pools: PgPool[] = [openPgPool(url, { max: 4 })];
    try {
      await migratePg(pools[0]);
      await fn(pgStorage(pools[0]), {
        sql: { all: (text, ...values) => pgAll(pools[0], pgText(text), values) },
        twin: () => {
          const pool = openPgPool(url, { max: 4 });
          pools.push(pool);
          return pgStorage(pool);
        },
      });
    } finally {
      await Promise.all(pools.map((p) => p.end()));
    }
  });
}
