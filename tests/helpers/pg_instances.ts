/**
 * Several "instances" on one PostgreSQL database, for tests of what must stay exact across instances: each gets
 * its own pool (its own connections, as a separate server process would have) and its own Storage over it.
 */
import { sqliteStorage, type Storage } from "../../src/db/storage.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate } from "../../src/db/migrate.ts";
import { pgText } from "../../src/db/pg/query.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { migratePg } from "../../src/db/pg/migrate.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { sharedPostgres } from "./postgres.ts";

/**
 * Runs `fn` with `count` Storages, each on its own pool of `max` connections, over one fresh migrated database
 * (whose URL `fn` gets too).
 */
export async function withPgInstances(
  count: number,
  fn: (instances: Storage[], url: string) => Promise<void>,
  options: { max?: number } = {},
): Promise<void> {
  const cluster = await sharedPostgres();
  const url = await cluster.createDatabase(`i_${crypto.randomUUID().replaceAll("-", "").slice(0, 20)}`);
  const setup = openPgPool(url, { max: 1 });
  try {
    await migratePg(setup);
  } finally {
    await setup.end();
  }
  const instances = Array.from(
    { length: count },
    () => pgStorage(openPgPool(url, { max: options.max ?? 8 })),
  );
  try {
    await fn(instances, url);
  } finally {
    await Promise.all(instances.map((s) => s.close()));
  }
}

/** Runs raw setup SQL (SQLite's `?` placeholders) on the database under a Storage that `backendRawTest` built. */
export type RawExec = (sql: string, values?: Array<string | number | null>) => Promise<void>;

/**
 * Like `backendTest` (tests/helpers/storage.ts), with a way to write rows no store writes yet: registers `name
 * [sqlite]` and `name [postgres]`, each on a fresh migrated database, and hands `fn` the Storage and `exec`.
 */
export function backendRawTest(name: string, fn: (storage: Storage, exec: RawExec) => Promise<void>): void {
  Deno.test(`${name} [sqlite]`, async () => {
    const db = openDatabase(":memory:");
    try {
      migrate(db);
      await fn(sqliteStorage(db), (sql, values = []) => {
        db.prepare(sql).run(...values);
        return Promise.resolve();
      });
    } finally {
      db.close();
    }
  });
  Deno.test(`${name} [postgres]`, async () => {
    await withPgInstances(1, async ([storage], url) => {
      const pool = openPgPool(url, { max: 1 });
      try {
        await fn(storage, async (sql, values = []) => void await pool.query(pgText(sql), values));
      } finally {
        await pool.end();
      }
    });
  });
}
