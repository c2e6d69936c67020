/** Versioned migrations embedded in the module graph, applied in order inside one transaction each. */
import type { Db } from "./sqlite.ts";
import { transaction } from "./sqlite.ts";
import { rekeyedSchedules, SCHEDULED_SUBSCRIPTIONS, type StoredSchedule } from "../subscriptions/rules.ts";
import { storedValuesOf } from "../registry/values.ts";
import { DR_ATTRIBUTES_0047 } from "../registries/dr/record_types.ts";
import m0001 from "../../migrations/0001_init.sql" with { type: "text" };
import m0002 from "../../migrations/0002_auth.sql" with { type: "text" };
import m0003 from "../../migrations/0003_registry.sql" with { type: "text" };
import m0004 from "../../migrations/0004_transactions.sql" with { type: "text" };
import m0005 from "../../migrations/0005_subscriptions.sql" with { type: "text" };
import m0006 from "../../migrations/0006_receipt_transactions.sql" with { type: "text" };
import m0007 from "../../migrations/0007_registry_lazy_snapshots.sql" with { type: "text" };
import m0008 from "../../migrations/0008_admin_token_ids.sql" with { type: "text" };
import m0009 from "../../migrations/0009_processing_attempts.sql" with { type: "text" };
import m0010 from "../../migrations/0010_jwks_key_ids.sql" with { type: "text" };
import m0013 from "../../migrations/0013_sender_settings.sql" with { type: "text" };
import m0014 from "../../migrations/0014_search_text.sql" with { type: "text" };
import m0015 from "../../migrations/0015_txn_message_ids.sql" with { type: "text" };
import m0016 from "../../migrations/0016_registries.sql" with { type: "text" };
import m0017 from "../../migrations/0017_locations.sql" with { type: "text" };
import m0018 from "../../migrations/0018_audit_log.sql" with { type: "text" };
import m0019 from "../../migrations/0019_metrics_history.sql" with { type: "text" };
import m0020 from "../../migrations/0020_console_sessions.sql" with { type: "text" };
import m0021 from "../../migrations/0021_registry_imports.sql" with { type: "text" };
import m0022 from "../../migrations/0022_callback_attempts.sql" with { type: "text" };
import m0023 from "../../migrations/0023_list_indexes.sql" with { type: "text" };
import m0024 from "../../migrations/0024_parent_identifier_rows.sql" with { type: "text" };
import m0025 from "../../migrations/0025_bulk_search.sql" with { type: "text" };
import m0026 from "../../migrations/0026_transaction_refs_txn.sql" with { type: "text" };
import m0027 from "../../migrations/0027_job_runs.sql" with { type: "text" };
import m0028 from "../../migrations/0028_bulk_spool_chunks.sql" with { type: "text" };
import m0029 from "../../migrations/0029_import_spool_chunks.sql" with { type: "text" };
import m0030 from "../../migrations/0030_pg_admission.sql" with { type: "text" };
import m0031 from "../../migrations/0031_pg_callback_outcome.sql" with { type: "text" };
import m0032 from "../../migrations/0032_transaction_results.sql" with { type: "text" };
import m0033 from "../../migrations/0033_bulk_load_stage.sql" with { type: "text" };
import m0034 from "../../migrations/0034_next_key_and_lookups.sql" with { type: "text" };
import m0035 from "../../migrations/0035_replay_guard_kind.sql" with { type: "text" };
import m0036 from "../../migrations/0036_subscription_schedule_key.sql" with { type: "text" };
import m0037 from "../../migrations/0037_replay_guard_log.sql" with { type: "text" };
import m0038 from "../../migrations/0038_notifications_delivered.sql" with { type: "text" };
import m0039 from "../../migrations/0039_registry_events_registrant.sql" with { type: "text" };
import m0040 from "../../migrations/0040_drop_registry_events_lazy.sql" with { type: "text" };
import m0041 from "../../migrations/0041_registrants_registry.sql" with { type: "text" };
import m0042 from "../../migrations/0042_registrants_registry_deleted.sql" with { type: "text" };
import m0043 from "../../migrations/0043_notifier_cursor_split.sql" with { type: "text" };
import m0044 from "../../migrations/0044_phone_contacts_lower.sql" with { type: "text" };
import m0045 from "../../migrations/0045_subscriptions_from_event.sql" with { type: "text" };
import m0046 from "../../migrations/0046_bulk_pages_unsent.sql" with { type: "text" };
import m0047 from "../../migrations/0047_dr_impairment_values.sql" with { type: "text" };
import m0048 from "../../migrations/0048_transactions_failed_sender.sql" with { type: "text" };

/** One migration: its version number, name and SQL, and a step in code run after the SQL. */
export interface Migration {
  version: number;
  name: string;
  sql: string;
  /** Data changes SQL cannot make exactly as the code does; in the SQL's transaction. */
  code?: (db: Db) => void;
  /**
   * Rebuilds tables other tables refer to (SQLite's 12-step ALTER): foreign key enforcement is switched off
   * around its transaction (PRAGMA foreign_keys is a no-op inside one) and the keys are checked before commit.
   */
  foreignKeysOff?: boolean;
}

/** Every migration the binary carries, in version order. Append only. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: "0001_init", sql: m0001 },
  { version: 2, name: "0002_auth", sql: m0002 },
  { version: 3, name: "0003_registry", sql: m0003 },
  { version: 4, name: "0004_transactions", sql: m0004 },
  { version: 5, name: "0005_subscriptions", sql: m0005 },
  { version: 6, name: "0006_receipt_transactions", sql: m0006 },
  { version: 7, name: "0007_registry_lazy_snapshots", sql: m0007 },
  { version: 8, name: "0008_admin_token_ids", sql: m0008 },
  { version: 9, name: "0009_processing_attempts", sql: m0009 },
  { version: 10, name: "0010_jwks_key_ids", sql: m0010 },
  { version: 13, name: "0013_sender_settings", sql: m0013 },
  { version: 14, name: "0014_search_text", sql: m0014 },
  { version: 15, name: "0015_txn_message_ids", sql: m0015 },
  { version: 16, name: "0016_registries", sql: m0016, foreignKeysOff: true },
  { version: 17, name: "0017_locations", sql: m0017 },
  { version: 18, name: "0018_audit_log", sql: m0018 },
  { version: 19, name: "0019_metrics_history", sql: m0019 },
  { version: 20, name: "0020_console_sessions", sql: m0020 },
  { version: 21, name: "0021_registry_imports", sql: m0021 },
  { version: 22, name: "0022_callback_attempts", sql: m0022 },
  { version: 23, name: "0023_list_indexes", sql: m0023 },
  { version: 24, name: "0024_parent_identifier_rows", sql: m0024 },
  { version: 25, name: "0025_bulk_search", sql: m0025 },
  { version: 26, name: "0026_transaction_refs_txn", sql: m0026 },
  { version: 27, name: "0027_job_runs", sql: m0027 },
  { version: 28, name: "0028_bulk_spool_chunks", sql: m0028 },
  { version: 29, name: "0029_import_spool_chunks", sql: m0029 },
  { version: 30, name: "0030_pg_admission", sql: m0030 },
  { version: 31, name: "0031_pg_callback_outcome", sql: m0031 },
  { version: 32, name: "0032_transaction_results", sql: m0032 },
  { version: 33, name: "0033_bulk_load_stage", sql: m0033 },
  { version: 34, name: "0034_next_key_and_lookups", sql: m0034 },
  { version: 35, name: "0035_replay_guard_kind", sql: m0035 },
  { version: 36, name: "0036_subscription_schedule_key", sql: m0036, code: rekeySchedules },
  { version: 37, name: "0037_replay_guard_log", sql: m0037 },
  { version: 38, name: "0038_notifications_delivered", sql: m0038 },
  { version: 39, name: "0039_registry_events_registrant", sql: m0039 },
  { version: 40, name: "0040_drop_registry_events_lazy", sql: m0040 },
  { version: 41, name: "0041_registrants_registry", sql: m0041 },
  { version: 42, name: "0042_registrants_registry_deleted", sql: m0042 },
  { version: 43, name: "0043_notifier_cursor_split", sql: m0043 },
  { version: 44, name: "0044_phone_contacts_lower", sql: m0044 },
  { version: 45, name: "0045_subscriptions_from_event", sql: m0045 },
  { version: 46, name: "0046_bulk_pages_unsent", sql: m0046 },
  { version: 47, name: "0047_dr_impairment_values", sql: m0047, code: backfillDrImpairments },
  { version: 48, name: "0048_transactions_failed_sender", sql: m0048 },
];

/**
 * Applies every migration not recorded yet, in version order; returns the names applied. By set, not by the
 * highest version: numbers are reserved per change and merged in any order (0015 may land before 0014), and a
 * data dir that already ran the higher one must still get the lower.
 */
export function migrate(db: Db, migrations: readonly Migration[] = MIGRATIONS): string[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const done = new Set(
    (db.prepare("SELECT version FROM schema_migrations").all() as Array<{ version: number }>).map((r) =>
      Number(r.version)
    ),
  );
  const applied: string[] = [];
  for (const m of migrations) {
    if (done.has(m.version)) continue;
    // Each migration and its schema row commit together: a failing migration leaves the database as it was.
    const fkOn = m.foreignKeysOff &&
      Number((db.prepare("PRAGMA foreign_keys").get() as { foreign_keys: number }).foreign_keys) === 1;
    if (fkOn) db.exec("PRAGMA foreign_keys = OFF");
    try {
      const ran = transaction(db, () => {
        // Another process starting on the same data dir may have applied it since the read above: the write
        // lock is held now, so this answer is final.
        if (db.prepare("SELECT 1 FROM schema_migrations WHERE version = ?").get(m.version)) return false;
        db.exec(m.sql);
        m.code?.(db);
        if (m.foreignKeysOff) checkForeignKeys(db, m.name);
        db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)")
          .run(m.version, m.name, new Date().toISOString());
        return true;
      });
      if (ran) applied.push(m.name);
    } finally {
      if (fkOn) db.exec("PRAGMA foreign_keys = ON");
    }
  }
  return applied;
}

/**
 * Migration 0047's step: the values of DR's impairment_level and impairment_cause of each DR person stored before,
 * exactly as a writer stores them (storedValuesOf; PostgreSQL's step is the same). A deleted person's too, as
 * writers leave them.
 */
function backfillDrImpairments(db: Db): void {
  const insert = db.prepare(
    "INSERT OR IGNORE INTO registrant_values (attr, value, registrant_id) VALUES (?, ?, ?)",
  );
  // Pages of 1,000 by id (never iterate(), which ends silently on an SQLite error).
  const page = db.prepare(`SELECT d.id, d.data FROM registrants r JOIN registrant_data d ON d.id = r.id
    WHERE r.record_type = 'dr_person' AND r.id > ? ORDER BY r.id LIMIT 1000`);
  for (let after = 0;;) {
    const rows = page.all(after) as Array<{ id: number; data: string }>;
    if (rows.length === 0) return;
    for (const row of rows) {
      after = Number(row.id);
      for (const [attr, value] of storedValuesOf(row.data, DR_ATTRIBUTES_0047)) {
        insert.run(attr, value, after);
      }
    }
  }
}

/** Migration 0036's step: each subscription with a schedule gets the key dedupeKey writes for it now. */
function rekeySchedules(db: Db): void {
  const rows = db.prepare(SCHEDULED_SUBSCRIPTIONS).all() as unknown as StoredSchedule[];
  const update = db.prepare("UPDATE subscriptions SET dedupe_key = ? WHERE id = ?");
  for (const r of rekeyedSchedules(rows)) update.run(r.key, r.id);
}

/** Throws (rolling the migration back) when a rebuild left a row whose foreign key points nowhere. */
function checkForeignKeys(db: Db, name: string): void {
  const bad = db.prepare("PRAGMA foreign_key_check").all() as Array<{ table: string; parent: string }>;
  if (bad.length > 0) {
    throw new Error(
      `migration ${name}: ${bad.length} row(s) with a broken foreign key (first: ${bad[0].table} → ${
        bad[0].parent
      })`,
    );
  }
}

/** The highest applied migration version (0 when none). */
export function schemaVersion(db: Db): number {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type='table' AND name='schema_migrations'")
    .get();
  if (!exists) return 0;
  return (db.prepare("SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations").get() as { v: number })
    .v;
}
