/**
 * PostgreSQL migrations, embedded in the module graph like the SQLite ones (src/db/migrate.ts) and kept with the
 * same bookkeeping: `schema_migrations (version, name, applied_at)`, applied by set in version order, each
 * migration and its row in one transaction. Several instances may start at once against one database: a
 * session-level advisory lock makes them migrate one after the other, so each migration runs once.
 */
import type { PgClient, PgPool } from "./pool.ts";
import { pgDropInvalidIndex, pgTakeTurns } from "./query.ts";
import { assertServable } from "../schema_version.ts";
import { rekeyedSchedules, SCHEDULED_SUBSCRIPTIONS, type StoredSchedule } from "../../subscriptions/rules.ts";
import { storedValuesOf } from "../../registry/values.ts";
import { DR_ATTRIBUTES_0047 } from "../../registries/dr/record_types.ts";
import p0025 from "./migrations/0025_baseline.sql" with { type: "text" };
import p0026 from "./migrations/0026_transaction_refs_txn.sql" with { type: "text" };
import p0027 from "./migrations/0027_job_runs.sql" with { type: "text" };
import p0028 from "./migrations/0028_bulk_spool_chunks.sql" with { type: "text" };
import p0029 from "./migrations/0029_import_spool_chunks.sql" with { type: "text" };
import p0030 from "./migrations/0030_pg_admission.sql" with { type: "text" };
import p0031 from "./migrations/0031_pg_callback_outcome.sql" with { type: "text" };
import p0032 from "./migrations/0032_transaction_results.sql" with { type: "text" };
import p0033 from "./migrations/0033_bulk_load_stage.sql" with { type: "text" };
import p0034 from "./migrations/0034_next_key_and_lookups.sql" with { type: "text" };
import p0035 from "./migrations/0035_replay_guard_kind.sql" with { type: "text" };
import p0036 from "./migrations/0036_subscription_schedule_key.sql" with { type: "text" };
import p0037 from "./migrations/0037_replay_guard_log.sql" with { type: "text" };
import p0038 from "./migrations/0038_notifications_delivered.sql" with { type: "text" };
import p0039 from "./migrations/0039_registry_events_registrant.sql" with { type: "text" };
import p0040 from "./migrations/0040_drop_registry_events_lazy.sql" with { type: "text" };
import p0041 from "./migrations/0041_registrants_registry.sql" with { type: "text" };
import p0042 from "./migrations/0042_registrants_registry_deleted.sql" with { type: "text" };
import p0043 from "./migrations/0043_notifier_cursor_split.sql" with { type: "text" };
import p0044 from "./migrations/0044_phone_contacts_lower.sql" with { type: "text" };
import p0045 from "./migrations/0045_subscriptions_from_event.sql" with { type: "text" };
import p0046 from "./migrations/0046_bulk_pages_unsent.sql" with { type: "text" };
import p0047 from "./migrations/0047_dr_impairment_values.sql" with { type: "text" };
import p0048 from "./migrations/0048_transactions_failed_sender.sql" with { type: "text" };

/** One PostgreSQL migration: its version number (its SQLite twin's), name and SQL, and a step in code. */
export interface PgMigration {
  version: number;
  name: string;
  sql: string;
  /** Data changes SQL cannot make exactly as the code does; in the SQL's transaction, after it. */
  code?: (client: PgClient) => Promise<void>;
  /**
   * The index this migration builds alone, with one `CREATE INDEX CONCURRENTLY IF NOT EXISTS` statement run
   * outside a transaction: a plain build holds a lock that stops every instance's writes to the table until it
   * ends (a rolling upgrade keeps the old instances serving while the new one migrates). An invalid index a
   * failed build left is dropped first, so the build is retried at the next start.
   */
  concurrentIndex?: string;
}

/**
 * The SQLite migrations whose end state 0025_baseline creates at once. Every later SQLite migration has a
 * PostgreSQL twin of the same version and name (tests/foundation/pg_schema_test.ts checks both lists).
 */
// deno-fmt-ignore
export const PG_BASELINE_COVERS: readonly number[] = [
  1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25,
];

/** Every PostgreSQL migration the binary carries, in version order. Append only. */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  { version: 25, name: "0025_baseline", sql: p0025 },
  { version: 26, name: "0026_transaction_refs_txn", sql: p0026 },
  { version: 27, name: "0027_job_runs", sql: p0027 },
  { version: 28, name: "0028_bulk_spool_chunks", sql: p0028 },
  { version: 29, name: "0029_import_spool_chunks", sql: p0029 },
  { version: 30, name: "0030_pg_admission", sql: p0030 },
  { version: 31, name: "0031_pg_callback_outcome", sql: p0031 },
  { version: 32, name: "0032_transaction_results", sql: p0032 },
  { version: 33, name: "0033_bulk_load_stage", sql: p0033 },
  { version: 34, name: "0034_next_key_and_lookups", sql: p0034 },
  { version: 35, name: "0035_replay_guard_kind", sql: p0035 },
  { version: 36, name: "0036_subscription_schedule_key", sql: p0036, code: rekeySchedules },
  { version: 37, name: "0037_replay_guard_log", sql: p0037 },
  {
    version: 38,
    name: "0038_notifications_delivered",
    sql: p0038,
    concurrentIndex: "notifications_delivered",
  },
  {
    version: 39,
    name: "0039_registry_events_registrant",
    sql: p0039,
    concurrentIndex: "registry_events_registrant",
  },
  { version: 40, name: "0040_drop_registry_events_lazy", sql: p0040 },
  {
    version: 41,
    name: "0041_registrants_registry",
    sql: p0041,
    concurrentIndex: "registrants_registry",
  },
  {
    version: 42,
    name: "0042_registrants_registry_deleted",
    sql: p0042,
    concurrentIndex: "registrants_registry_deleted",
  },
  { version: 43, name: "0043_notifier_cursor_split", sql: p0043 },
  { version: 44, name: "0044_phone_contacts_lower", sql: p0044 },
  { version: 45, name: "0045_subscriptions_from_event", sql: p0045 },
  { version: 46, name: "0046_bulk_pages_unsent", sql: p0046 },
  { version: 47, name: "0047_dr_impairment_values", sql: p0047, code: backfillDrImpairments },
  {
    version: 48,
    name: "0048_transactions_failed_sender",
    sql: p0048,
    concurrentIndex: "transactions_failed_sender",
  },
];

/** The advisory lock key of migrations (any constant no other code uses; "dcim" in ASCII). */
export const MIGRATE_LOCK_KEY = 0x6463696d;

/**
 * Applies every migration not recorded yet, in version order, holding the migration lock; returns the names
 * applied (none when another instance applied them while this one waited for the lock).
 */
export async function migratePg(
  pool: PgPool,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<string[]> {
  // Session level, not per transaction: the lock spans reading what is done and applying every migration. Another
  // instance waits by trying again (pgTakeTurns), some migrations building their index concurrently.
  return await pgTakeTurns(pool, MIGRATE_LOCK_KEY, (client) => applyPending(client, migrations));
}

/** migratePg's work, with the migration lock held on `client`. */
async function applyPending(client: PgClient, migrations: readonly PgMigration[]): Promise<string[]> {
  await checkPgDatabase(client);
  await client.query(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version bigint PRIMARY KEY, name text NOT NULL, applied_at text NOT NULL)`);
  const { rows } = await client.query<{ version: number; name: string }>(
    "SELECT version, name FROM schema_migrations",
  );
  assertKnownPg(rows);
  const done = new Set(rows.map((r) => Number(r.version)));
  const applied: string[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    if (m.concurrentIndex) {
      await buildIndexConcurrently(client, m);
      applied.push(m.name);
      continue;
    }
    await client.query("BEGIN");
    try {
      await client.query(m.sql); // no parameters: the simple protocol runs the file's statements in turn
      await m.code?.(client);
      await client.query(
        "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
        [m.version, m.name, new Date().toISOString()],
      );
      await client.query("COMMIT");
    } catch (err) {
      await client.query("ROLLBACK").catch(() => {});
      throw new Error(`PostgreSQL migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
    }
    applied.push(m.name);
  }
  return applied;
}

/** Applies a `concurrentIndex` migration (outside a transaction), then records it. */
async function buildIndexConcurrently(client: PgClient, m: PgMigration): Promise<void> {
  try {
    await pgDropInvalidIndex(client, m.concurrentIndex!);
    await client.query(m.sql);
    await client.query(
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
      [m.version, m.name, new Date().toISOString()],
    );
  } catch (err) {
    throw new Error(`PostgreSQL migration ${m.name} failed: ${(err as Error).message}`, { cause: err });
  }
}

/** Migration 0036's step: each subscription with a schedule gets the key dedupeKey writes for it now. */
async function rekeySchedules(client: PgClient): Promise<void> {
  const { rows } = await client.query<StoredSchedule>(SCHEDULED_SUBSCRIPTIONS);
  for (const r of rekeyedSchedules(rows.map((r) => ({ ...r, id: Number(r.id) })))) {
    await client.query("UPDATE subscriptions SET dedupe_key = $1 WHERE id = $2", [r.key, r.id]);
  }
}

/**
 * Migration 0047's step: the values of DR's impairment_level and impairment_cause of each DR person stored before,
 * exactly as a writer stores them (storedValuesOf), read 1,000 records at a time.
 */
async function backfillDrImpairments(client: PgClient): Promise<void> {
  for (let after = 0;;) {
    const { rows } = await client.query<{ id: string | number; data: string }>(
      `SELECT d.id, d.data FROM registrants r JOIN registrant_data d ON d.id = r.id
       WHERE r.record_type = 'dr_person' AND r.id > $1 ORDER BY r.id LIMIT 1000`,
      [after],
    );
    if (rows.length === 0) return;
    const attrs: string[] = [];
    const values: string[] = [];
    const ids: number[] = [];
    for (const row of rows) {
      after = Number(row.id);
      for (const [attr, value] of storedValuesOf(row.data, DR_ATTRIBUTES_0047)) {
        attrs.push(attr);
        values.push(String(value));
        ids.push(after);
      }
    }
    if (ids.length === 0) continue;
    await client.query(
      `INSERT INTO registrant_values (attr, value, registrant_id)
       SELECT a, to_jsonb(v), i FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t (a, v, i)
       ON CONFLICT DO NOTHING`,
      [attrs, values, ids],
    );
  }
}

/**
 * Refuses a database whose text rules differ from SQLite's: the registry compares, sorts and lower-cases text
 * exactly as the embedded default does (bytewise order, ASCII-only case folding), which PostgreSQL does for a
 * UTF8 database with the C locale (collation and character type). Any other locale would sort names, range
 * filters and cursors differently, and jsonb values compare by the database collation, so it is checked here,
 * before any migration, on every start.
 */
export async function checkPgDatabase(client: PgClient): Promise<void> {
  const { rows } = await client.query<{ name: string; enc: string; collate: string; ctype: string }>(
    `SELECT datname AS name, pg_encoding_to_char(encoding) AS enc, datcollate AS collate, datctype AS ctype
     FROM pg_database WHERE datname = current_database()`,
  );
  const db = rows[0];
  const plain = (l: string) => l === "C" || l === "POSIX";
  if (db && db.enc === "UTF8" && plain(db.collate) && plain(db.ctype)) return;
  throw new Error(
    `PostgreSQL database ${JSON.stringify(db?.name)} has encoding ${db?.enc}, collation ${db?.collate} and ` +
      `character type ${db?.ctype}; dci-server needs UTF8 with the C locale (text compared and case-folded as ` +
      `the embedded SQLite does). Create it with: CREATE DATABASE <name> TEMPLATE template0 ENCODING 'UTF8' ` +
      `LOCALE 'C'`,
  );
}

/**
 * Refuses (DatabaseVersionError, exit 2) a database holding migrations this binary does not carry: a newer
 * binary migrated it (an instance of the new version during a rolling upgrade, or an upgrade rolled back by
 * redeploying the old image), and this one's statements would run against a schema they were not written for.
 * SQLite's open refuses the same (src/db/schema_version.ts).
 */
function assertKnownPg(done: ReadonlyArray<{ version: number; name: string }>): void {
  const known = new Set(PG_MIGRATIONS.map((m) => m.version));
  const unknown = done.filter((r) => !known.has(Number(r.version))).map((r) => r.name);
  assertServable(
    { migratedBy: "", applied: [], unknown, pending: [] },
    undefined,
    "This PostgreSQL database",
  );
}

/**
 * How many migrations the database has had, and which of this binary's it has not (read only, no lock); refuses
 * one a newer binary migrated (assertKnownPg).
 */
export async function pgMigrationState(
  pool: PgPool,
  migrations: readonly PgMigration[] = PG_MIGRATIONS,
): Promise<{ applied: number; pending: string[] }> {
  const { rows } = await pool.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS exists",
  );
  if (!rows[0].exists) return { applied: 0, pending: migrations.map((m) => m.name) };
  const done = await pool.query<{ version: number; name: string }>(
    "SELECT version, name FROM schema_migrations",
  );
  assertKnownPg(done.rows);
  const versions = new Set(done.rows.map((r) => Number(r.version)));
  return {
    applied: versions.size,
    pending: migrations.filter((m) => !versions.has(m.version)).map((m) => m.name),
  };
}

/** The highest applied migration version (0 when none). */
export async function pgSchemaVersion(pool: PgPool): Promise<number> {
  const { rows } = await pool.query<{ exists: boolean }>(
    "SELECT to_regclass('schema_migrations') IS NOT NULL AS exists",
  );
  if (!rows[0].exists) return 0;
  const max = await pool.query<{ v: number }>("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations");
  return Number(max.rows[0].v);
}
