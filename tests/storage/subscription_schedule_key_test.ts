/**
 * Migration 0036 re-keys the subscriptions stored before a subscription's duplicate key held its schedule: each
 * row with a cron or a window gets the key dedupeKey writes for it now, and a row without either keeps its key.
 * Both backends.
 */
import { deepEqual } from "node:assert/strict";
import { newPgDatabase } from "../helpers/postgres.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";
import { migratePg, PG_MIGRATIONS } from "../../src/db/pg/migrate.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgAll } from "../../src/db/pg/query.ts";
import { dedupeKey } from "../../src/subscriptions/rules.ts";

interface Case {
  code: string;
  frequency: unknown;
  start: string | null;
  end: string | null;
}

const CASES: Case[] = [
  { code: "plain", frequency: null, start: null, end: null },
  { code: "cron", frequency: { frequency: "  0 0   * * 1 " }, start: null, end: null },
  {
    code: "window",
    frequency: { start_time: "2026-12-01", end_time: "2027-01-01", frequency: "0 0 * * *" },
    start: "2026-12-01T00:00:00.000Z",
    end: "2027-01-01T00:00:00.000Z",
  },
  { code: "end-only", frequency: null, start: null, end: "2027-02-01T00:00:00.000Z" },
  {
    code: "start-no-cron",
    frequency: { start_time: "2026-12-05T00:00:00Z" },
    start: "2026-12-05T00:00:00.000Z",
    end: null,
  },
  // White space SQL reads apart from the code: a tab, a new line, a no-break space, nine spaces in a row.
  { code: "tab", frequency: { frequency: "0\t0 * * 1" }, start: null, end: null },
  { code: "newline", frequency: { frequency: "0 0\n* * 2\n" }, start: null, end: null },
  { code: "nbsp", frequency: { frequency: "0\u00a00 * * 3" }, start: null, end: null },
  { code: "nine-spaces", frequency: { frequency: "0         0 * * 4" }, start: null, end: null },
  // Members PostgreSQL's jsonb refuses (a NUL, a lone surrogate): the upgrade must not stop on them.
  { code: "nul", frequency: { frequency: "0 0 * * 5", note: "a\u0000b" }, start: null, end: null },
  { code: "surrogate", frequency: { frequency: "0 0 * * 6", note: "\ud800" }, start: null, end: null },
  // A frequency that is not JSON has no cron; its window still keys it.
  { code: "not-json", frequency: "{not json", start: null, end: "2027-03-01T00:00:00.000Z" },
];

const FILTER = { type: "UIN", value: "X-1" };
const oldKey = (registry: string) => dedupeKey(registry, "registration", "person", "idtype-value", FILTER);
const newKey = (c: Case) => {
  const cron = (c.frequency as { frequency?: unknown } | null)?.frequency;
  return dedupeKey("social", "registration", "person", "idtype-value", FILTER, {
    cron: typeof cron === "string" ? cron : undefined,
    start: c.start ?? undefined,
    end: c.end ?? undefined,
  });
};

const INSERT =
  `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
    filter_type, filter, frequency, dedupe_key, callback_url, start_time, end_time, state, correlation_id,
    reference_id, created_at, updated_at)
  VALUES (?, 's1', 'social', 'registration', 'person', 'Person', 'idtype-value', ?, ?, ?, 'http://127.0.0.1/cb',
    ?, ?, 'active', ?, 'r1', '2026-11-30T00:00:00Z', '2026-11-30T00:00:00Z')`;

function args(c: Case): Array<string | null> {
  const frequency = c.frequency === null
    ? null
    : typeof c.frequency === "string"
    ? c.frequency
    : JSON.stringify(c.frequency);
  // Every row has the key of before: (registry, event, record type, filter) only.
  return [c.code, JSON.stringify(FILTER), frequency, oldKey("social"), c.start, c.end, `corr-${c.code}`];
}

const expected = () => CASES.map((c) => [c.code, newKey(c)]);

Deno.test("migration 0036 [sqlite]: stored subscriptions with a schedule get today's key, the others keep theirs", () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db, MIGRATIONS.filter((m) => m.version < 36));
    // The old keys repeat (the index is on live rows of one sender): they were one subscription per key then.
    db.exec("DROP INDEX subscriptions_live");
    for (const c of CASES) db.prepare(INSERT).run(...args(c));
    deepEqual(migrate(db, MIGRATIONS.filter((m) => m.version <= 36)), ["0036_subscription_schedule_key"]);
    const rows = db.prepare("SELECT code, dedupe_key FROM subscriptions ORDER BY id").all();
    deepEqual(rows.map((r) => [r.code, r.dedupe_key]), expected());
  } finally {
    db.close();
  }
});

Deno.test("migration 0036 [postgres]: stored subscriptions with a schedule get today's key, the others keep theirs", async () => {
  const url = await newPgDatabase("skey");
  const pool = openPgPool(url, { max: 2 });
  try {
    await migratePg(pool, PG_MIGRATIONS.filter((m) => m.version < 36));
    await pool.query("DROP INDEX subscriptions_live");
    let n = 0;
    for (const c of CASES) {
      await pool.query(INSERT.replace(/\?/g, () => `$${++n}`), args(c)).then(() => n = 0);
    }
    deepEqual(await migratePg(pool, PG_MIGRATIONS.filter((m) => m.version <= 36)), [
      "0036_subscription_schedule_key",
    ]);
    const rows = await pgAll<{ code: string; dedupe_key: string }>(
      pool,
      "SELECT code, dedupe_key FROM subscriptions ORDER BY id",
    );
    deepEqual(rows.map((r) => [r.code, r.dedupe_key]), expected());
  } finally {
    await pool.end();
  }
});
