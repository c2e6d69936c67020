/**
 * Tests of a store run against both backends: `backendTest(name, fn)` registers `name [sqlite]` on a fresh,
 * migrated in-memory SQLite database and `name [postgres]` on a fresh, migrated database of the shared test cluster
 * (tests/helpers/postgres.ts `sharedPostgres`). Neither is skipped: without PostgreSQL the second one fails.
 */
import { type Db, openDatabase } from "../../src/db/sqlite.ts";
import { migrate } from "../../src/db/migrate.ts";
import { sqliteStorage, type Storage } from "../../src/db/storage.ts";
import { openPgPool, type PgPool } from "../../src/db/pg/pool.ts";
import { migratePg, PG_MIGRATIONS } from "../../src/db/pg/migrate.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { pgAll, pgText, type PgValue } from "../../src/db/pg/query.ts";
import { newPgDatabase, type SharedPostgres, sharedPostgres } from "./postgres.ts";

/**
 * Runs one statement written in SQLite's dialect with `?` placeholders (numbered for PostgreSQL) directly on the
 * test's database, for setting up rows of tables whose store is not the one under test, and for looking behind a
 * store; returns the rows.
 */
export type RawSql = (text: string, values?: PgValue[]) => Promise<Record<string, unknown>[]>;

/** RawSql on an embedded SQLite database. */
export function sqliteRawSql(db: Db): RawSql {
  return (text, values = []) =>
    Promise.resolve(db.prepare(text).all(...values as never[]) as Record<string, unknown>[]);
}

/** RawSql on a PostgreSQL pool (placeholders numbered). */
export function pgRawSql(pool: PgPool): RawSql {
  return (text, values = []) => pgAll(pool, pgText(text), values);
}

/** A test's database: the Storage under test, raw SQL on it, and `twin()`, a second instance's Storage on it. */
export interface TestBackend {
  storage: Storage;
  sql: RawSql;
  /** Another instance on the same database (PostgreSQL: its own pool; SQLite: the same handle, one process). */
  twin(): Storage;
  /** Closes the Storage, every twin, and the database. */
  close(): Promise<void>;
}

/** The backend this test process's deps and servers use: DCI_TEST_BACKEND=postgres, else the embedded SQLite. */
export const TEST_BACKEND: "sqlite" | "postgres" = Deno.env.get("DCI_TEST_BACKEND") === "postgres"
  ? "postgres"
  : "sqlite";

let template: Promise<string> | undefined;

/**
 * The name of a database of the cluster migrated with the current PG_MIGRATIONS, which each test's database
 * copies (CREATE DATABASE … TEMPLATE: a file copy, several times faster than migrating every database). Built
 * once per cluster and migration set, whichever test process comes first (under an advisory lock), and
 * published by a rename only once complete, so a killed run never leaves a half-migrated template behind.
 */
async function migratedTemplate(cluster: SharedPostgres): Promise<string> {
  const digest = new Uint8Array(
    await crypto.subtle.digest(
      "SHA-256",
      new TextEncoder().encode(PG_MIGRATIONS.map((m) => `${m.version}\n${m.sql}`).join("\n")),
    ),
  );
  const name = `tmpl_${[...digest.slice(0, 8)].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
  const admin = openPgPool(cluster.url, { max: 1 });
  const client = await admin.connect();
  try {
    await client.query("SELECT pg_advisory_lock($1)", [TEMPLATE_LOCK]);
    const found = await client.query("SELECT 1 FROM pg_database WHERE datname = $1", [name]);
    if (found.rowCount === 0) {
      const building = `${name}_b`;
      await client.query(`DROP DATABASE IF EXISTS ${building}`);
      const pool = openPgPool(await cluster.createDatabase(building), { max: 1 });
      try {
        await migratePg(pool);
      } finally {
        await pool.end();
      }
      await client.query(`ALTER DATABASE ${building} RENAME TO ${name}`);
    }
    return name;
  } finally {
    await client.query("SELECT pg_advisory_unlock($1)", [TEMPLATE_LOCK]).catch(() => {});
    client.release();
    await admin.end();
  }
}

/** The advisory lock key of building the template ("dcit" in ASCII). */
const TEMPLATE_LOCK = 0x64636974;

/** The URL of a fresh database of the shared test cluster, migrated (a copy of the migrated template). */
export async function freshPgDatabase(): Promise<string> {
  template ??= migratedTemplate(await sharedPostgres());
  return await newPgDatabase("t", { template: await template });
}

/** One fresh, migrated database of `kind`; on PostgreSQL each pool (the first and every twin's) has `max` connections. */
export async function freshStorage(
  kind: Storage["kind"],
  options: { max?: number } = {},
): Promise<TestBackend> {
  if (kind === "sqlite") {
    const db = openDatabase(":memory:");
    migrate(db);
    // A data dir of the test's own for the stores that keep files (bulk spools), so their sweep runs too.
    const dataDir = Deno.makeTempDirSync({ prefix: "dci-store-test-" });
    return {
      storage: sqliteStorage(db, dataDir),
      sql: sqliteRawSql(db),
      twin: () => sqliteStorage(db, dataDir),
      close: async () => {
        db.close();
        await Deno.remove(dataDir, { recursive: true });
      },
    };
  }
  const url = await freshPgDatabase();
  const max = options.max ?? 4;
  const pools: PgPool[] = [openPgPool(url, { max })];
  return {
    storage: pgStorage(pools[0]),
    sql: pgRawSql(pools[0]),
    twin: () => {
      const pool = openPgPool(url, { max });
      pools.push(pool);
      return pgStorage(pool);
    },
    close: async () => void await Promise.all(pools.map((p) => p.end())),
  };
}

/** Registers `fn` twice, once per backend, each with its own fresh database. */
export function backendTest(
  name: string,
  fn: (storage: Storage, sql: RawSql, twin: () => Storage) => Promise<void>,
): void {
  for (const kind of ["sqlite", "postgres"] as const) {
    Deno.test(`${name} [${kind}]`, async () => {
      const t = await freshStorage(kind);
      try {
        await fn(t.storage, t.sql, t.twin);
      } finally {
        await t.close();
      }
    });
  }
}

/** Raw statements on a test's database, values as arguments (constant SQL text, `?` placeholders). */
export interface TestSql {
  all(text: string, ...values: PgValue[]): Promise<Record<string, unknown>[]>;
}

/** `backendTest` with raw SQL and the twin as one fixture. */
export interface BackendFixture {
  sql: TestSql;
  twin(): Storage;
}

/** `backendTest`, handing `fn` a fixture (raw SQL with values as arguments, and a second instance). */
export function backendSqlTest(
  name: string,
  fn: (storage: Storage, f: BackendFixture) => Promise<void>,
): void {
  backendTest(
    name,
    (storage, sql, twin) => fn(storage, { sql: { all: (text, ...values) => sql(text, values) }, twin }),
  );
}
