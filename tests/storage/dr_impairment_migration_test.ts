/**
 * Migration 0047: DR persons stored before impairment_level and impairment_cause were searchable get their values,
 * the very rows the code writes with a record (valuePairs), on both backends, a record with a lone surrogate in a
 * text included; a group, a person without impairments and another registry's record get none. Records are the DR
 * demo's, read as the server reads them.
 */
import { deepEqual, ok } from "node:assert/strict";
import { newPgDatabase } from "../helpers/postgres.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";
import { migratePg, PG_MIGRATIONS } from "../../src/db/pg/migrate.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgAll } from "../../src/db/pg/query.ts";
import { drProfile } from "../../src/registries/dr/profile.ts";
import { readRegistrant, type Registrant } from "../../src/registry/model.ts";
import { valuePairs } from "../../src/registry/values.ts";

const ATTRS = new Set(["impairment_level", "impairment_cause"]);
const REGISTRANT =
  `INSERT INTO registrants (id, record_type, external_id, registration_date, last_updated, registry)
  VALUES (?, ?, ?, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z', ?)`;
const DATA = "INSERT INTO registrant_data (id, data) VALUES (?, ?)";
const ROWS = `SELECT attr, value, registrant_id FROM registrant_values
  WHERE attr IN ('impairment_level', 'impairment_cause') ORDER BY registrant_id, attr, value`;

/** The DR demo's records (persons and groups) and a social person, with their ids. */
function records(): Array<{ id: number; reg: Registrant; registry: string }> {
  const now = "2026-01-01T00:00:00.000Z";
  const dr = [...drProfile.demo(80, 7)].map((raw) => readRegistrant(raw, now, undefined, drProfile));
  const persons = dr.filter((r) => r.recordType === "dr_person" && r.details?.disability_details);
  // A text holding a lone surrogate (stored as the escape `\ud800`, which PostgreSQL's JSON parsers refuse), and a
  // person without impairments.
  persons[3].name.surname = "Lone\ud800";
  delete persons[4].details!.disability_details;
  // Social keeps no details; one stored with them anyway is not a DR person, so it gets no rows.
  const social = readRegistrant({ id: "S-1", sex: "female" }, now);
  social.details = { disability_details: [{ impairment_level: "Severe", impairment_cause: "Illness" }] };
  return [...dr.map((reg) => ({ reg, registry: "dr" })), { reg: social, registry: "social" }]
    .map((r, i) => ({ ...r, id: i + 1 }));
}

/** The rows the code writes for these records' two attributes, in ROWS's order. */
function expectedRows(all: ReturnType<typeof records>): Array<[string, string, number]> {
  const out: Array<[string, string, number]> = [];
  for (const { id, reg } of all) {
    const pairs = valuePairs(reg);
    const mine: Array<[string, string, number]> = [];
    for (let k = 0; k < pairs.length; k += 2) {
      if (ATTRS.has(String(pairs[k]))) mine.push([String(pairs[k]), String(pairs[k + 1]), id]);
    }
    out.push(
      ...mine.sort((a, b) => a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0),
    );
  }
  return out;
}

function checkSpread(all: ReturnType<typeof records>, rows: Array<[string, string, number]>): void {
  const lone = all.find((r) => r.reg.name.surname === "Lone\ud800")!;
  ok(rows.some((x) => x[2] === lone.id), "the record with a lone surrogate has its rows");
  const none = all.find((r) => r.reg.recordType === "dr_person" && !r.reg.details?.disability_details)!;
  ok(!rows.some((x) => x[2] === none.id), "a person without impairments has none");
  const persons = all.filter((r) => r.reg.recordType === "dr_person").length;
  const withRows = new Set(rows.map((r) => r[2])).size;
  ok(
    persons > 20 && withRows > 20 && rows.length > withRows,
    `${rows.length} rows for ${withRows} of ${persons}`,
  );
  ok(all.some((r) => r.reg.recordType === "dr_group" && !rows.some((x) => x[2] === r.id)));
}

Deno.test("migration 0047 [sqlite]: stored DR persons get their impairment level and cause values", () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db, MIGRATIONS.filter((m) => m.version < 47));
    const all = records();
    for (const { id, reg, registry } of all) {
      db.prepare(REGISTRANT).run(id, reg.recordType, reg.externalId, registry);
      db.prepare(DATA).run(id, JSON.stringify(reg));
    }
    deepEqual(migrate(db, MIGRATIONS.filter((m) => m.version <= 47)), ["0047_dr_impairment_values"]);
    const rows = db.prepare(ROWS).all().map((r) => [r.attr, r.value, Number(r.registrant_id)]) as Array<
      [string, string, number]
    >;
    deepEqual(rows, expectedRows(all));
    checkSpread(all, rows);
  } finally {
    db.close();
  }
});

Deno.test("migration 0047 [postgres]: stored DR persons get their impairment level and cause values", async () => {
  const url = await newPgDatabase("impair");
  const pool = openPgPool(url, { max: 2 });
  const q = (text: string) => {
    let n = 0;
    return text.replace(/\?/g, () => `$${++n}`);
  };
  try {
    await migratePg(pool, PG_MIGRATIONS.filter((m) => m.version < 47));
    const all = records();
    for (const { id, reg, registry } of all) {
      await pool.query(q(REGISTRANT), [id, reg.recordType, reg.externalId, registry]);
      await pool.query(q(DATA), [id, JSON.stringify(reg)]);
    }
    deepEqual(await migratePg(pool, PG_MIGRATIONS.filter((m) => m.version <= 47)), [
      "0047_dr_impairment_values",
    ]);
    const found = await pgAll<{ attr: string; value: string; registrant_id: number }>(pool, ROWS);
    const rows = found.map((r) => [r.attr, r.value, Number(r.registrant_id)] as [string, string, number]);
    deepEqual(rows, expectedRows(all));
    checkSpread(all, rows);
  } finally {
    await pool.end();
  }
});
