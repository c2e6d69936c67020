import { deepEqual, equal, ok, rejects } from "node:assert/strict";
import { isDeepStrictEqual } from "node:util";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";
import {
  MIGRATE_LOCK_KEY,
  migratePg,
  PG_BASELINE_COVERS,
  PG_MIGRATIONS,
  pgSchemaVersion,
} from "../../src/db/pg/migrate.ts";
import { openPgPool, type PgPool } from "../../src/db/pg/pool.ts";
import { startPostgres } from "../helpers/postgres.ts";
import { pgShape, type SchemaShape, sqliteShape } from "../helpers/schema_shape.ts";

Deno.test("PG_MIGRATIONS: every SQLite migration is in the baseline or has a PostgreSQL twin of its version and name", () => {
  const baseline = new Set(PG_BASELINE_COVERS);
  const twins = new Map(
    PG_MIGRATIONS.filter((m) => m.name !== "0025_baseline").map((m) => [m.version, m.name]),
  );
  const missing = MIGRATIONS.filter((m) => !baseline.has(m.version) && twins.get(m.version) !== m.name);
  deepEqual(
    missing.map((m) => m.name),
    [],
    "SQLite migrations without a PostgreSQL twin in src/db/pg/migrate.ts",
  );
  const orphans = [...twins].filter(([v, name]) =>
    !MIGRATIONS.some((m) => m.version === v && m.name === name)
  );
  deepEqual(orphans, [], "PostgreSQL migrations without a SQLite twin");
  // The baseline names only versions the SQLite list carries: a number reserved but never merged is not covered.
  deepEqual(PG_BASELINE_COVERS.filter((v) => !MIGRATIONS.some((m) => m.version === v)), []);
});

/**
 * Tables only PostgreSQL has, each with the reason: what the embedded server keeps elsewhere. Anything else that
 * one backend has and the other lacks fails the comparison below.
 */
const PG_ONLY_TABLES: Record<string, string> = {
  bulk_spool_chunks: "bulk search spools: files under <data dir>/bulk on SQLite (one process reads them), " +
    "rows on PostgreSQL so any instance reads what another received (src/transactions/pg_spool_store.ts)",
  import_spool_chunks: "import uploads: files under <data dir>/imports on SQLite (one process reads them), " +
    "rows on PostgreSQL so any instance runs an import another received (src/registry/imports/pg_spool_store.ts)",
};

/** Tables only SQLite has, each with the reason. */
const SQLITE_ONLY_TABLES: Record<string, string> = Object.fromEntries(
  ["load_identifiers", "load_contacts", "load_values"].map((table) => [
    table,
    "a SQLite bulk load's staged keyed rows, merged at its end (migration 0033, src/registry/bulk.ts)",
  ]),
);

/** Tables both backends have, shaped apart by design, each with the reason: left out of the comparison. */
const SHAPED_APART: Record<string, string> = {
  replay_guard:
    "SQLite: an append-only log each connection indexes in memory (migration 0037, src/auth/replay.ts); " +
    "PostgreSQL: keyed by (sender_id, message_id), written by dci_admit from several instances at once",
};

/** The SQLite shape of a fresh database migrated by src/db/migrate.ts. */
function sqliteSchema(): { shape: SchemaShape; rowidAlias: Map<string, string> } {
  const db = openDatabase(":memory:");
  migrate(db);
  const shape = sqliteShape(db);
  // Tables whose INTEGER PRIMARY KEY is the rowid: SQLite ends each index entry with it, implicitly.
  const rowidAlias = new Map<string, string>();
  for (const table of Object.keys(shape)) {
    const withoutRowid = /WITHOUT ROWID\s*$/i.test(
      (db.prepare("SELECT sql FROM sqlite_master WHERE name = ?").get(table) as { sql: string }).sql,
    );
    const pk = shape[table].primaryKey;
    if (!withoutRowid && pk.length === 1 && shape[table].columns[pk[0]].startsWith("integer")) {
      rowidAlias.set(table, pk[0]);
    }
  }
  db.close();
  return { shape, rowidAlias };
}

/**
 * PostgreSQL index columns written out with the rowid SQLite appends implicitly, `(created_at, id)` for SQLite's
 * `(created_at)`, compare as SQLite's declared columns.
 */
function withoutExplicitRowid(pg: SchemaShape, sqlite: SchemaShape, rowidAlias: Map<string, string>): void {
  for (const [table, shape] of Object.entries(pg)) {
    const alias = rowidAlias.get(table);
    if (!alias) continue;
    for (const [name, ix] of Object.entries(shape.indexes)) {
      const theirs = sqlite[table]?.indexes[name];
      if (theirs && ix.columns.length === theirs.columns.length + 1 && ix.columns.at(-1) === alias) {
        ix.columns = ix.columns.slice(0, -1);
      }
    }
  }
}

async function withPool<T>(url: string, fn: (pool: PgPool) => Promise<T>): Promise<T> {
  const pool = openPgPool(url, { max: 2 });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

Deno.test("migratePg() against a real PostgreSQL", async (t) => {
  const cluster = await startPostgres();
  try {
    await t.step(
      "builds the schema the SQLite migrations build: tables, columns, keys, indexes",
      async () => {
        const url = await cluster.createDatabase("schema");
        const { shape: sqlite, rowidAlias } = sqliteSchema();
        const pg = await withPool(url, async (pool) => {
          deepEqual(await migratePg(pool), PG_MIGRATIONS.map((m) => m.name));
          return await pgShape(pool);
        });
        withoutExplicitRowid(pg, sqlite, rowidAlias);
        for (const table of Object.keys(PG_ONLY_TABLES)) {
          ok(pg[table], `${table} is listed as PostgreSQL-only but PostgreSQL has no such table`);
          equal(sqlite[table], undefined, `${table} is listed as PostgreSQL-only but SQLite has it too`);
          delete pg[table];
        }
        for (const table of Object.keys(SQLITE_ONLY_TABLES)) {
          ok(sqlite[table], `${table} is listed as SQLite-only but SQLite has no such table`);
          equal(pg[table], undefined, `${table} is listed as SQLite-only but PostgreSQL has it too`);
          delete sqlite[table];
        }
        for (const table of Object.keys(SHAPED_APART)) {
          ok(
            pg[table] && sqlite[table],
            `${table} is listed as shaped apart but a backend has no such table`,
          );
          delete pg[table];
          delete sqlite[table];
        }
        deepEqual(Object.keys(pg).sort(), Object.keys(sqlite).sort(), "the same tables");
        // Every table that differs in one assertion, so its diff shows all of them at once.
        const differ = Object.keys(sqlite).sort().filter((table) =>
          !isDeepStrictEqual(pg[table], sqlite[table])
        );
        const pick = (shape: SchemaShape) => Object.fromEntries(differ.map((table) => [table, shape[table]]));
        deepEqual(pick(pg), pick(sqlite));
      },
    );

    await t.step("a second run applies nothing and the version is the highest applied", async () => {
      const url = await cluster.createDatabase("again");
      await withPool(url, async (pool) => {
        equal(await pgSchemaVersion(pool), 0);
        ok((await migratePg(pool)).length > 0);
        deepEqual(await migratePg(pool), []);
        equal(await pgSchemaVersion(pool), Math.max(...PG_MIGRATIONS.map((m) => m.version)));
        const cursor = await pool.query("SELECT id, last_event_id FROM notifier_cursor");
        deepEqual(cursor.rows, [{ id: 1, last_event_id: 0 }]); // the row 0005 seeds, and bigint read as a number
      });
    });

    await t.step("two instances migrating at once apply each migration once (advisory lock)", async () => {
      const url = await cluster.createDatabase("race");
      const holder = openPgPool(url, { max: 1 });
      const a = openPgPool(url, { max: 1 });
      const b = openPgPool(url, { max: 1 });
      try {
        // Hold the lock so both migrators are certainly waiting for it together before either can run (they
        // try it again every 250 ms: a second and a half is several tries each).
        const held = await holder.connect();
        await held.query("SELECT pg_advisory_lock($1)", [MIGRATE_LOCK_KEY]);
        let finished = 0;
        const runs = [migratePg(a), migratePg(b)].map((run) => run.finally(() => finished++));
        await new Promise((r) => setTimeout(r, 1500));
        equal(finished, 0, "neither ran while the lock was held");
        await held.query("SELECT pg_advisory_unlock($1)", [MIGRATE_LOCK_KEY]);
        held.release();
        const results = await Promise.allSettled(runs);
        deepEqual(
          results.map((r) => r.status === "fulfilled" ? r.value.length : String(r.reason)).sort(),
          [0, PG_MIGRATIONS.length],
        );
        const rows = await holder.query("SELECT version FROM schema_migrations ORDER BY version");
        deepEqual(rows.rows.map((r) => r.version), PG_MIGRATIONS.map((m) => m.version));
      } finally {
        await Promise.all([holder.end(), a.end(), b.end()]);
      }
    });

    await t.step("a failing migration leaves no trace and names itself", async () => {
      const url = await cluster.createDatabase("failing");
      await withPool(url, async (pool) => {
        const bad = { version: 9999, name: "9999_bad", sql: "CREATE TABLE half (x bigint); SELECT 1 / 0;" };
        await rejects(migratePg(pool, [...PG_MIGRATIONS, bad]), /9999_bad failed: division by zero/);
        const half = await pool.query("SELECT to_regclass('half') AS t");
        equal(half.rows[0].t, null);
        const applied = await pool.query("SELECT version FROM schema_migrations ORDER BY version");
        deepEqual(applied.rows.map((r) => r.version), PG_MIGRATIONS.map((m) => m.version));
        // The lock went back with the failure: the next run (without the bad migration) is not blocked.
        deepEqual(await migratePg(pool), []);
      });
    });

    await t.step(
      "a database with another locale than C is refused before any migration, naming the fix",
      async () => {
        const admin = openPgPool(cluster.url, { max: 1 });
        try {
          await admin.query(
            "CREATE DATABASE utf8_locale TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8'",
          );
        } finally {
          await admin.end();
        }
        const url = new URL(cluster.url);
        url.pathname = "/utf8_locale";
        await withPool(url.toString(), async (pool) => {
          await rejects(migratePg(pool), /collation C\.UTF-8.*LOCALE 'C'/s);
          const table = await pool.query("SELECT to_regclass('schema_migrations') AS t");
          equal(table.rows[0].t, null);
        });
      },
    );
  } finally {
    await cluster.stop();
  }
});
