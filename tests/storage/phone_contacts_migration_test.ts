/**
 * Migration 0044: phone numbers stored before keep their rows with their ASCII letters lower-cased, as the code now
 * normalises them (src/registry/contacts.ts); on PostgreSQL a registrant's spellings differing in case alone become
 * one row. Both backends, on a database migrated to 0043 with rows written as the code before wrote them.
 */
import { deepEqual } from "node:assert/strict";
import { newPgDatabase } from "../helpers/postgres.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";
import { migratePg, PG_MIGRATIONS } from "../../src/db/pg/migrate.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgAll } from "../../src/db/pg/query.ts";

const REGISTRANT =
  `INSERT INTO registrants (id, record_type, external_id, sex, registration_date, last_updated, registry)
  VALUES (?, 'person', ?, 'male', '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', 'social')`;
const CONTACT = "INSERT INTO registrant_contacts (kind, value, registrant_id) VALUES (?, ?, ?)";
const ROWS = "SELECT kind, value, registrant_id FROM registrant_contacts ORDER BY registrant_id, kind, value";

Deno.test("migration 0044 [sqlite]: stored phone numbers are lower-cased in place; e-mails and digits alone unchanged", () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db, MIGRATIONS.filter((m) => m.version < 44));
    for (const id of [1, 2]) db.prepare(REGISTRANT).run(id, `P${id}`);
    const contacts: Array<[string, string, number]> = [
      ["phone", "+99800FLOWERS", 1],
      ["phone", "+99700000001", 1],
      ["phone", "5551Ext12", 2],
      ["email", "ten@example.org", 2],
    ];
    for (const c of contacts) db.prepare(CONTACT).run(...c);
    db.prepare("INSERT INTO load_contacts (kind, value, registrant_id) VALUES ('phone', '+1ABC', 2)").run();
    deepEqual(migrate(db, MIGRATIONS.filter((m) => m.version <= 44)), ["0044_phone_contacts_lower"]);
    deepEqual(db.prepare(ROWS).all().map((r) => [r.kind, r.value, Number(r.registrant_id)]), [
      ["phone", "+99700000001", 1],
      ["phone", "+99800flowers", 1],
      ["email", "ten@example.org", 2],
      ["phone", "5551ext12", 2],
    ]);
    deepEqual(db.prepare("SELECT value FROM load_contacts").all().map((r) => r.value), ["+1abc"]);
  } finally {
    db.close();
  }
});

Deno.test("migration 0044 [postgres]: stored phone numbers are lower-cased; spellings differing in case become one row", async () => {
  const url = await newPgDatabase("phone");
  const pool = openPgPool(url, { max: 2 });
  const q = (text: string) => {
    let n = 0;
    return text.replace(/\?/g, () => `$${++n}`);
  };
  try {
    await migratePg(pool, PG_MIGRATIONS.filter((m) => m.version < 44));
    for (const id of [1, 2, 3]) await pool.query(q(REGISTRANT), [id, `P${id}`]);
    const contacts: Array<[string, string, number]> = [
      ["phone", "+99800FLOWERS", 1],
      ["phone", "+99800flowers", 1], // the lower-case spelling is kept
      ["phone", "+99800Flowers", 1],
      ["phone", "5551EXT12", 2], // no lower-case spelling: the first in byte order is kept, lower-cased
      ["phone", "5551Ext12", 2],
      ["phone", "+99700000001", 2],
      ["email", "ten@example.org", 3],
      ["phone", "5551EXT12", 3], // another registrant's number: its own row
    ];
    for (const c of contacts) await pool.query(q(CONTACT), c);
    deepEqual(await migratePg(pool, PG_MIGRATIONS.filter((m) => m.version <= 44)), [
      "0044_phone_contacts_lower",
    ]);
    const rows = await pgAll<{ kind: string; value: string; registrant_id: number }>(pool, ROWS);
    deepEqual(rows.map((r) => [r.kind, r.value, Number(r.registrant_id)]), [
      ["phone", "+99800flowers", 1],
      ["phone", "+99700000001", 2],
      ["phone", "5551ext12", 2],
      ["email", "ten@example.org", 3],
      ["phone", "5551ext12", 3],
    ]);
  } finally {
    await pool.end();
  }
});
