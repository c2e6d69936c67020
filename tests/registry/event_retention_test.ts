import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { person, putPerson } from "../subscriptions/helpers.ts";
import { purgeFinishedWork } from "../../src/transactions/retention.ts";
import { PURGE_CHUNK, PURGE_RANGE } from "../../src/registry/event_retention.ts";

const DAY = 86_400_000;

/** Saves person `id` (a changed record each time: `v`) as if `age` days before `start` (the clock's time after); its event id. */
async function change(deps: TestDeps, start: number, id: string, v: number, age: number): Promise<number> {
  deps.clock.advance(start - age * DAY - deps.clock.now());
  const saved = await putPerson(
    deps,
    person(id, { sex: v % 2 ? "male" : "female", birth_date: `19${50 + v}-01-01` }),
  );
  deps.clock.advance(start - deps.clock.now());
  const [row] = await deps.sql("SELECT MAX(id) AS id FROM registry_events WHERE registrant_id = ?", [
    saved.id,
  ]);
  return Number(row.id);
}

const eventIds = async (deps: TestDeps) =>
  (await deps.sql("SELECT id FROM registry_events ORDER BY id")).map((r) => Number(r.id));

/** A subscription with one notification of `status` naming event `eventId`. */
async function notification(deps: TestDeps, n: string, status: string, eventId: number): Promise<void> {
  const at = new Date(deps.clock.now()).toISOString();
  const [sub] = await deps.sql(
    `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
       dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at)
     VALUES (?, 'alice', 'social', 'update', 'person', 'Person', ?, 'https://a.example/n', 'active', ?, ?, ?, ?)
     RETURNING id`,
    [`s-${n}`, `d-${n}`, `c-${n}`, `r-${n}`, at, at],
  );
  await deps.sql(
    `INSERT INTO notifications (notification_id, subscription_id, event_id, event_type, record_type,
       record_count, message_id, status, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, 'update', 'person', 1, ?, ?, ?, ?, ?)`,
    [n, Number(sub.id), eventId, `m-${n}`, status, at, at, at],
  );
}

Deno.test("event retention: old events a later change of the same record follows go; each record's newest, young ones and those from the oldest a pending or failed notification names stay", async () => {
  const start = Date.parse("2026-06-01T00:00:00Z");
  const deps = await testDeps({ eventRetentionDays: "30", notificationRetentionDays: "0" }, { now: start });
  try {
    // a: three old changes (the first two go); b: one old event (its newest: stays); c: an old change followed by
    // a young one (the old one goes: the young one follows it); d: two young changes (both stay).
    const a = [await change(deps, start, "a", 1, 100), await change(deps, start, "a", 2, 90)];
    const b1 = await change(deps, start, "b", 1, 80);
    a.push(await change(deps, start, "a", 3, 70));
    // e: three old changes, the first named by a pending notification, the second by a failed one.
    const e = [
      await change(deps, start, "e", 1, 65),
      await change(deps, start, "e", 2, 64),
      await change(deps, start, "e", 3, 63),
    ];
    const c = [await change(deps, start, "c", 1, 60), await change(deps, start, "c", 2, 5)];
    const d = [await change(deps, start, "d", 1, 4), await change(deps, start, "d", 2, 3)];
    await notification(deps, "pending", "pending", e[0]);
    await notification(deps, "failed", "failed", e[1]);
    // Fan-out has logged every event: its cursor is past them all.
    await deps.sql("UPDATE notifier_cursor SET last_event_id = ? WHERE id = 1", [d[1]]);

    // Everything from the oldest event a pending or failed notification names stays (e[0]: c's old change too).
    assert.equal((await purgeFinishedWork(deps)).events, 2);
    assert.deepEqual(await eventIds(deps), [b1, a[2], ...e, ...c, ...d]);
    assert.equal((await purgeFinishedWork(deps)).events, 0, "nothing more the second time");

    // The pending notification sent: the failed one still holds e[1] and what follows (and e[0], e's change
    // before it); then it is sent too: e's first two changes and c's old one go.
    await deps.sql("UPDATE notifications SET status = 'sent' WHERE status = 'pending'");
    assert.equal((await purgeFinishedWork(deps)).events, 0);
    await deps.sql("UPDATE notifications SET status = 'sent'");
    assert.equal((await purgeFinishedWork(deps)).events, 3);
    assert.deepEqual(await eventIds(deps), [b1, a[2], e[2], c[1], ...d]);
  } finally {
    deps.close();
  }
});

Deno.test("event retention: events fan-out has not reached keep the record's event before them, which it compares with", async () => {
  const start = Date.parse("2026-06-01T00:00:00Z");
  const deps = await testDeps({ eventRetentionDays: "30" }, { now: start });
  try {
    const a = [
      await change(deps, start, "a", 1, 100),
      await change(deps, start, "a", 2, 90),
      await change(deps, start, "a", 3, 80),
    ];
    const b = [await change(deps, start, "b", 1, 75), await change(deps, start, "b", 2, 70)];
    // Fan-out has logged a's first two changes only: a[2] and b's are still to come.
    await deps.sql("UPDATE notifier_cursor SET last_event_id = ? WHERE id = 1", [a[1]]);
    assert.equal((await purgeFinishedWork(deps)).events, 1);
    // a[1] stays: it is the record before a[2], which fan-out has yet to compare.
    assert.deepEqual(await eventIds(deps), [a[1], a[2], ...b]);
  } finally {
    deps.close();
  }
});

Deno.test("event retention: 0 days keeps every event", async () => {
  const start = Date.parse("2026-06-01T00:00:00Z");
  const deps = await testDeps({ eventRetentionDays: "0" }, { now: start });
  try {
    const a = [await change(deps, start, "a", 1, 100), await change(deps, start, "a", 2, 90)];
    await deps.sql("UPDATE notifier_cursor SET last_event_id = ? WHERE id = 1", [a[1]]);
    assert.equal((await purgeFinishedWork(deps)).events, 0);
    assert.deepEqual(await eventIds(deps), a);
  } finally {
    deps.close();
  }
});

Deno.test("event retention: a record past the first delete's range of records is reached", async () => {
  const start = Date.parse("2026-06-01T00:00:00Z");
  const deps = await testDeps({ eventRetentionDays: "30" }, { now: start });
  try {
    const first = await change(deps, start, "first", 1, 100);
    const far = [
      await change(deps, start, "far", 1, 90),
      await change(deps, start, "far", 2, 80),
      await change(deps, start, "far", 3, 70),
    ];
    // far's events under a registrant id three ranges past first's.
    const [{ id }] = await deps.sql("SELECT registrant_id AS id FROM registry_events WHERE id = ?", [first]);
    await deps.sql("UPDATE registry_events SET registrant_id = ? WHERE id IN (?, ?, ?)", [
      Number(id) + 3 * PURGE_RANGE,
      ...far,
    ]);
    await deps.sql("UPDATE notifier_cursor SET last_event_id = ? WHERE id = 1", [far[2]]);
    assert.equal((await purgeFinishedWork(deps)).events, 2);
    assert.deepEqual(await eventIds(deps), [first, far[2]]);
  } finally {
    deps.close();
  }
});

Deno.test("event retention: a pending notification alone, or a failed one alone, holds its event, what follows and the change before", async () => {
  const start = Date.parse("2026-06-01T00:00:00Z");
  for (const status of ["pending", "failed"]) {
    const deps = await testDeps({ eventRetentionDays: "30", notificationRetentionDays: "0" }, { now: start });
    try {
      const z = [await change(deps, start, "z", 1, 100), await change(deps, start, "z", 2, 95)];
      const a = [
        await change(deps, start, "a", 1, 90),
        await change(deps, start, "a", 2, 80),
        await change(deps, start, "a", 3, 70),
      ];
      await notification(deps, status, status, a[1]);
      await deps.sql("UPDATE notifier_cursor SET last_event_id = ? WHERE id = 1", [a[2]]);
      assert.equal((await purgeFinishedWork(deps)).events, 1, status);
      assert.deepEqual(await eventIds(deps), [z[1], ...a], status);
    } finally {
      deps.close();
    }
  }
});

Deno.test("event retention: a record with more events than one delete takes loses them in several writes", async () => {
  const start = Date.parse("2026-06-01T00:00:00Z");
  const deps = await testDeps({ eventRetentionDays: "30" }, { now: start });
  try {
    const first = await change(deps, start, "many", 1, 100);
    const [{ id }] = await deps.sql("SELECT registrant_id AS id FROM registry_events WHERE id = ?", [first]);
    const old = new Date(start - 90 * DAY).toISOString();
    await deps.sql(
      `WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ?)
       INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
       SELECT 'social', 'update', 'person', ?, '{}', ? FROM n`,
      [PURGE_CHUNK + 500, Number(id), old],
    );
    const ids = await eventIds(deps);
    assert.equal(ids.length, PURGE_CHUNK + 501);
    await deps.sql("UPDATE notifier_cursor SET last_event_id = ? WHERE id = 1", [ids.at(-1)!]);
    assert.equal((await purgeFinishedWork(deps)).events, PURGE_CHUNK + 500);
    assert.deepEqual(await eventIds(deps), [ids.at(-1)]);
  } finally {
    deps.close();
  }
});
