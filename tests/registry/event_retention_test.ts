import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { person, putPerson } from "../subscriptions/helpers.ts";
import { purgeFinishedWork } from "../../src/transactions/retention.ts";
import { notificationRow } from "../helpers/txn_rows.ts";
import { PURGE_CHUNK, PURGE_RANGE } from "../../src/registry/event_retention.ts";

const DAY = 86_400_000;
/** The tests' today. */
const START = Date.parse("2026-06-01T00:00:00Z");

/** What each test works with: its deps at START, and the steps it repeats. */
interface Log {
  deps: TestDeps;
  /** Saves person `id` changed once for each of `ages` (days before START), in that order; their event ids. */
  changes(id: string, ...ages: number[]): Promise<number[]>;
  /** Fan-out has logged the events up to `eventId`. */
  fannedOutTo(eventId: number): Promise<void>;
  /** One retention run: how many events it deleted. */
  purge(): Promise<number>;
  /** The event ids left, in order. */
  ids(): Promise<number[]>;
}

/** Runs `fn` on fresh deps with `settings` (the retention days), closing them after. */
async function withLog(settings: Record<string, string>, fn: (log: Log) => Promise<void>): Promise<void> {
  const deps = await testDeps(settings, { now: START });
  let version = 0;
  let newest = 0;
  const change = async (id: string, age: number) => {
    deps.clock.advance(START - age * DAY - deps.clock.now());
    const v = ++version;
    const saved = await putPerson(deps, person(id, { birth_date: `${1900 + v}-01-01` }));
    deps.clock.advance(START - deps.clock.now());
    const [row] = await deps.sql("SELECT MAX(id) AS id FROM registry_events WHERE registrant_id = ?", [
      saved.id,
    ]);
    assert.ok(Number(row.id) > newest, "each change is an event of its own");
    return newest = Number(row.id);
  };
  try {
    await fn({
      deps,
      changes: async (id, ...ages) => {
        const out = [];
        for (const age of ages) out.push(await change(id, age));
        return out;
      },
      fannedOutTo: async (eventId) =>
        void await deps.sql("UPDATE notifier_cursor SET last_event_id = ? WHERE id = 1", [eventId]),
      purge: async () => (await purgeFinishedWork(deps)).events,
      ids: async () =>
        (await deps.sql("SELECT id FROM registry_events ORDER BY id")).map((r) => Number(r.id)),
    });
  } finally {
    deps.close();
  }
}

/** A subscription with one notification of `status` naming event `eventId`. */
const notification = (deps: TestDeps, n: string, status: string, eventId: number) =>
  notificationRow(deps.sql, n, status, new Date(deps.clock.now()).toISOString(), eventId);

Deno.test("event retention: old events a later change of the same record follows go; each record's newest, young ones and those from the oldest a pending or failed notification names stay", () =>
  withLog({ eventRetentionDays: "30", notificationRetentionDays: "0" }, async (log) => {
    // a: three old changes (the first two go); b: one old event (its newest: stays); c: an old change followed by
    // a young one (the old one goes: the young one follows it); d: two young changes (both stay).
    const a = await log.changes("a", 100, 90);
    const [b1] = await log.changes("b", 80);
    a.push(...await log.changes("a", 70));
    // e: three old changes, the first named by a pending notification, the second by a failed one.
    const e = await log.changes("e", 65, 64, 63);
    const c = await log.changes("c", 60, 5);
    const d = await log.changes("d", 4, 3);
    await notification(log.deps, "pending", "pending", e[0]);
    await notification(log.deps, "failed", "failed", e[1]);
    await log.fannedOutTo(d[1]);

    // Everything from the oldest event a pending or failed notification names stays (e[0]: c's old change too).
    assert.equal(await log.purge(), 2);
    assert.deepEqual(await log.ids(), [b1, a[2], ...e, ...c, ...d]);
    assert.equal(await log.purge(), 0, "nothing more the second time");

    // The pending notification sent: the failed one still holds e[1] and what follows (and e[0], e's change
    // before it); then it is sent too: e's first two changes and c's old one go.
    await log.deps.sql("UPDATE notifications SET status = 'sent' WHERE status = 'pending'");
    assert.equal(await log.purge(), 0);
    await log.deps.sql("UPDATE notifications SET status = 'sent'");
    assert.equal(await log.purge(), 3);
    assert.deepEqual(await log.ids(), [b1, a[2], e[2], c[1], ...d]);
  }));

Deno.test("event retention: events fan-out has not reached keep the record's event before them, which it compares with", () =>
  withLog({ eventRetentionDays: "30" }, async (log) => {
    const a = await log.changes("a", 100, 90, 80);
    const b = await log.changes("b", 75, 70);
    // Fan-out has logged a's first two changes only: a[2] and b's are still to come.
    await log.fannedOutTo(a[1]);
    assert.equal(await log.purge(), 1);
    // a[1] stays: it is the record before a[2], which fan-out has yet to compare.
    assert.deepEqual(await log.ids(), [a[1], a[2], ...b]);
  }));

Deno.test("event retention: a pending notification alone, or a failed one alone, holds its event, what follows and the change before", async () => {
  for (const status of ["pending", "failed"]) {
    await withLog({ eventRetentionDays: "30", notificationRetentionDays: "0" }, async (log) => {
      const z = await log.changes("z", 100, 95);
      const a = await log.changes("a", 90, 80, 70);
      await notification(log.deps, status, status, a[1]);
      await log.fannedOutTo(a[2]);
      assert.equal(await log.purge(), 1, status);
      assert.deepEqual(await log.ids(), [z[1], ...a], status);
    });
  }
});

Deno.test("event retention: 0 days keeps every event", () =>
  withLog({ eventRetentionDays: "0" }, async (log) => {
    const a = await log.changes("a", 100, 90);
    await log.fannedOutTo(a[1]);
    assert.equal(await log.purge(), 0);
    assert.deepEqual(await log.ids(), a);
  }));

Deno.test("event retention: a record past the first delete's range of records is reached", () =>
  withLog({ eventRetentionDays: "30" }, async (log) => {
    const [first] = await log.changes("first", 100);
    const far = await log.changes("far", 90, 80, 70);
    // far's events under a registrant id three ranges past first's.
    const [{ id }] = await log.deps.sql("SELECT registrant_id AS id FROM registry_events WHERE id = ?", [
      first,
    ]);
    await log.deps.sql("UPDATE registry_events SET registrant_id = ? WHERE id IN (?, ?, ?)", [
      Number(id) + 3 * PURGE_RANGE,
      ...far,
    ]);
    await log.fannedOutTo(far[2]);
    assert.equal(await log.purge(), 2);
    assert.deepEqual(await log.ids(), [first, far[2]]);
  }));

Deno.test("event retention: a record with more events than one delete takes loses them in several writes", () =>
  withLog({ eventRetentionDays: "30" }, async (log) => {
    const [first] = await log.changes("many", 100);
    const [{ id }] = await log.deps.sql("SELECT registrant_id AS id FROM registry_events WHERE id = ?", [
      first,
    ]);
    await log.deps.sql(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
       SELECT 'social', 'update', 'person', ?, '{}', ? FROM n`,
      [PURGE_CHUNK + 500, Number(id), new Date(START - 90 * DAY).toISOString()],
    );
    const ids = await log.ids();
    assert.equal(ids.length, PURGE_CHUNK + 501);
    await log.fannedOutTo(ids.at(-1)!);
    assert.equal(await log.purge(), PURGE_CHUNK + 500);
    assert.deepEqual(await log.ids(), [ids.at(-1)]);
  }));
