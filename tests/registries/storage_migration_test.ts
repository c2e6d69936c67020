/**
 * Migration 0016 on a data dir written before it: every row kept, social's indexes and the event id sequence
 * intact, foreign keys enforced again afterwards, and the freed constraints usable (per-registry ids and
 * identifiers, registry-specific event and record types).
 */
import assert from "node:assert/strict";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";

function indexes(db: ReturnType<typeof openDatabase>, table: string): string[] {
  return (db.prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? ORDER BY name")
    .all(table) as Array<{ name: string }>).map((r) => r.name).filter((n) =>
      !n.startsWith("sqlite_autoindex")
    );
}

Deno.test("migration 0016 rebuilds registrants, registry_events and subscriptions keeping rows, indexes and the event sequence", () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db, MIGRATIONS.filter((m) => m.version < 16));
    db.exec(`
      INSERT INTO registrants (id, record_type, external_id, registration_date, last_updated)
        VALUES (1, 'group', 'G1', '2025-01-01', '2025-01-01');
      INSERT INTO registrants (id, record_type, external_id, group_id, surname, birth_date, registration_date,
        last_updated) VALUES (2, 'person', 'P1', 1, 'Banda', '1990-01-01', '2025-01-01', '2025-01-01');
      INSERT INTO registrant_data (id, data) VALUES (1, '{}'), (2, '{}');
      INSERT INTO identifiers (id_value, id_type, registrant_id) VALUES ('U1', 'UIN', 2);
      INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
        VALUES ('social', 'registration', 'person', 2, '', 'x'), ('social', 'update', 'person', 2, '{}', 'x'),
               ('social', 'update', 'person', 2, '{}', 'x');
      DELETE FROM registry_events WHERE id = 3;
      INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
        dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at)
        VALUES ('S1', 's', 'social', 'update', 'person', 'person', 'k', 'http://x', 'active', 'c', 'r', 'x', 'x');
      INSERT INTO notifications (notification_id, subscription_id, event_id, event_type, record_type,
        record_count, message_id, status, next_attempt_at, created_at, updated_at)
        VALUES ('N1', 1, 2, 'update', 'person', 1, 'm', 'pending', 'x', 'x', 'x');
    `);
    const socialIndexes = indexes(db, "registrants");
    assert.deepEqual(migrate(db), MIGRATIONS.filter((m) => m.version >= 16).map((m) => m.name));
    assert.deepEqual(
      indexes(db, "registrants"),
      [...socialIndexes, "registrants_registry", "registrants_registry_deleted"].sort(),
      "social's indexes as they were, and 0041's and 0042's",
    );
    // 0016 rebuilt the table with its four; 0045 adds subscriptions_from_event.
    assert.deepEqual(indexes(db, "subscriptions").length, 5);
    assert.deepEqual(
      db.prepare("SELECT id, registry, external_id, group_id FROM registrants ORDER BY id").all().map((r) =>
        Object.values(r)
      ),
      [[1, "social", "G1", null], [2, "social", "P1", 1]],
    );
    assert.equal((db.prepare("PRAGMA foreign_keys").get() as { foreign_keys: number }).foreign_keys, 1);
    assert.deepEqual(db.prepare("PRAGMA foreign_key_check").all(), []);
    // The next event id follows the highest ever used (3, deleted), never reusing it.
    db.exec(
      `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
      VALUES ('crvs', 'registration', 'crvs_person', 2, '{}', 'x')`,
    );
    assert.equal((db.prepare("SELECT MAX(id) AS id FROM registry_events").get() as { id: number }).id, 4);
    // Ids and identifiers are unique per registry; other registries' record and event types are accepted.
    db.exec(`INSERT INTO registrants (record_type, external_id, registration_date, last_updated, registry)
      VALUES ('crvs_person', 'P1', 'x', 'x', 'crvs')`);
    db.exec(
      `INSERT INTO identifiers (id_value, id_type, registrant_id, registry) VALUES ('U1', 'UIN', 3, 'crvs')`,
    );
    assert.throws(
      () =>
        db.exec(`INSERT INTO registrants (record_type, external_id, registration_date, last_updated)
          VALUES ('person', 'P1', 'x', 'x')`),
      /UNIQUE/,
    );
    assert.throws(
      () => db.exec(`INSERT INTO identifiers (id_value, id_type, registrant_id) VALUES ('U1', 'UIN', 1)`),
      /UNIQUE/,
    );
    db.exec(
      `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
      dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at)
      VALUES ('S2', 's', 'crvs', 'Death', 'crvs_person', 'CRVSPerson', 'k2', 'http://x', 'active', 'c2', 'r', 'x', 'x')`,
    );
    // Foreign keys are enforced again: a row pointing nowhere is refused.
    assert.throws(
      () => db.exec(`INSERT INTO registrant_data (id, data) VALUES (99, '{}')`),
      /FOREIGN KEY/,
    );
  } finally {
    db.close();
  }
});

Deno.test("migrate() rolls back a foreign-keys-off migration that leaves a broken reference, keys on again", () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db);
    const broken = {
      version: 9999,
      name: "9999_broken",
      sql: "INSERT INTO registrant_data (id, data) VALUES (12345, '{}')",
      foreignKeysOff: true,
    };
    assert.throws(() => migrate(db, [...MIGRATIONS, broken]), /broken foreign key/);
    assert.equal(db.prepare("SELECT 1 FROM registrant_data WHERE id = 12345").get(), undefined);
    assert.equal(db.prepare("SELECT 1 FROM schema_migrations WHERE version = 9999").get(), undefined);
    assert.equal((db.prepare("PRAGMA foreign_keys").get() as { foreign_keys: number }).foreign_keys, 1);
  } finally {
    db.close();
  }
});
