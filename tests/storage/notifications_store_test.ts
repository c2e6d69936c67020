/** The notification store, the same contract on both backends. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { backendTest, freshPgDatabase, pgRawSql, type RawSql } from "../helpers/storage.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import type { Storage } from "../../src/db/storage.ts";
import type { NewSubscription } from "../../src/subscriptions/store.ts";
import { newSubscription, subscriptionsOf } from "../helpers/subscription_fixture.ts";
import {
  type NewNotification,
  type NotificationRow,
  SENDER_WINDOW,
} from "../../src/subscriptions/notifications.ts";

const NOW = "2026-06-01T00:00:00.000Z";
const LATER = "2026-06-02T00:00:00.000Z";
const SOON = "2026-06-01T00:05:00.000Z";

/** A created subscription's id and code. */
async function subscription(s: Storage, over: Partial<NewSubscription> = {}) {
  const r = await subscriptionsOf(s).insert(newSubscription(NOW, over), 100);
  if (r.kind !== "created") throw new Error(`subscription not created: ${r.kind}`);
  return { id: r.row.id, code: r.row.code };
}

/** Registry events with these snapshots; their ids, in order. */
async function events(sql: RawSql, ...snapshots: string[]): Promise<number[]> {
  const ids: number[] = [];
  for (const snapshot of snapshots) {
    const [row] = await sql(
      `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
       VALUES (?,?,?,?,?,?) RETURNING id`,
      ["social", "registration", "person", 1, snapshot, NOW],
    );
    ids.push(Number(row.id));
  }
  return ids;
}

function note(subscriptionId: number, eventId: number, dueAt = NOW): NewNotification {
  return { subscriptionId, eventId, eventType: "registration", recordType: "person", dueAt };
}

/** Every notification of a subscription, by id (event id and status). */
async function log(s: Storage, code: string): Promise<Array<[number, string]>> {
  return (await s.notifications.list({ subscription: code })).reverse().map((n) => [n.event_id, n.status]);
}

backendTest(
  "notification store: insert keeps the given order, ignores repeats, and pending reads the oldest with their events",
  async (s, sql) => {
    const a = await subscription(s);
    const [e1, e2, e3] = await events(sql, '{"id":"one"}', '{"id":"two"}', '{"id":"three"}');
    equal(await s.notifications.insert([], NOW), 0);
    // Given out of event order: delivery follows the order given.
    equal(await s.notifications.insert([note(a.id, e2), note(a.id, e1)], NOW), 2);
    equal(await s.notifications.insert([note(a.id, e1), note(a.id, e3)], NOW), 1);
    deepEqual(await log(s, a.code), [[e2, "pending"], [e1, "pending"], [e3, "pending"]]);
    // Oldest first (the order given), as many as asked for, each with its event.
    deepEqual((await s.notifications.pending(a.id, 10)).map((p) => [p.n.event_id, p.event?.snapshot]), [
      [e2, '{"id":"two"}'],
      [e1, '{"id":"one"}'],
      [e3, '{"id":"three"}'],
    ]);
    deepEqual((await s.notifications.pending(a.id, 2)).map((p) => p.n.event_id), [e2, e1]);
    const [head] = await s.notifications.pending(a.id, 1);
    ok(head);
    deepEqual(head.event, { snapshot: '{"id":"two"}', created_at: NOW });
    const n = head.n;
    equal(typeof n.id, "number");
    equal(n.event_id, e2);
    equal(n.subscription_id, a.id);
    deepEqual(
      [n.status, n.attempts, n.record_count, n.last_error, n.receiver_code, n.sent_at, n.received_at],
      ["pending", 0, 1, null, null, null, null],
    );
    deepEqual([n.next_attempt_at, n.created_at, n.updated_at], [NOW, NOW, NOW]);
    equal(typeof n.notification_id, "string");
    ok(n.message_id !== n.notification_id);
    ok(!("ev_snapshot" in n) && !("ev_at" in n));
    // Its event gone: the row still comes, without one.
    const b = await subscription(s);
    await s.notifications.insert([note(b.id, 999_999)], NOW);
    const [orphan] = await s.notifications.pending(b.id, 5);
    equal(orphan?.n.event_id, 999_999);
    equal(orphan?.event, undefined);
    deepEqual(await s.notifications.pending(123_456, 5), []);
    // Only pending rows: one sent is no longer read.
    equal(await s.notifications.markSent(head.n.id, NOW), true);
    deepEqual((await s.notifications.pending(a.id, 10)).map((p) => p.n.event_id), [e1, e3]);
  },
);

backendTest(
  "notification store: dueLanes names active subscriptions of enabled senders whose head is due",
  async (s, sql) => {
    const due = await subscription(s);
    const later = await subscription(s);
    const pending = await subscription(s, { active: false });
    const disabled = await subscription(s, { sender_id: "s2" });
    const empty = await subscription(s);
    await sql("UPDATE senders SET active = 0 WHERE sender_id = ?", ["s2"]);
    const [e1, e2] = await events(sql, "{}", "{}");
    await s.notifications.insert([note(due.id, e1), note(due.id, e2, LATER)], NOW);
    await s.notifications.insert([note(later.id, e1, LATER), note(later.id, e2)], NOW);
    await s.notifications.insert([note(pending.id, e1), note(disabled.id, e1)], NOW);
    deepEqual(await s.notifications.dueLanes(NOW), [due.id]);
    // Only the head counts: `later`'s second row is due but waits behind its first.
    deepEqual(await s.notifications.dueLanes(SOON), [due.id]);
    deepEqual(await s.notifications.dueLanes(LATER), [due.id, later.id]);
    ok(!(await s.notifications.dueLanes(LATER)).includes(empty.id));
  },
);

backendTest(
  "notification store: held rows are logged due in id order, a row due earlier pulling older ones forward",
  async (s, sql) => {
    const EARLY = "2026-06-01T12:00:00.000Z";
    const held = (id: number, event: number, dueAt: string) => ({ ...note(id, event, dueAt), held: true });
    const dues = async (code: string) =>
      (await s.notifications.list({ subscription: code })).reverse().map((n) => n.next_attempt_at);
    const [a, b, c, plain] = [
      await subscription(s),
      await subscription(s),
      await subscription(s),
      await subscription(s),
    ];
    const [e1, e2, e3] = await events(sql, "{}", "{}", "{}");
    // Logged one after the other: the older row, due later, is pulled forward to the newer one's due time.
    await s.notifications.insert([held(a.id, e1, LATER)], NOW);
    await s.notifications.insert([held(a.id, e2, EARLY)], NOW);
    deepEqual(await dues(a.code), [EARLY, EARLY]);
    // In one batch: the same, and a row after them keeps its own time.
    await s.notifications.insert([held(b.id, e1, LATER), held(b.id, e2, EARLY), held(b.id, e3, LATER)], NOW);
    deepEqual(await dues(b.code), [EARLY, EARLY, LATER]);
    // A row waiting for a retry keeps its delay (the newer one waits behind it); rows not held are left as given.
    await s.notifications.insert([held(c.id, e1, NOW)], NOW);
    const [retried] = await s.notifications.list({ subscription: c.code });
    equal(await s.notifications.markRetry(retried.id, { error: "timeout" }, LATER, NOW), true);
    await s.notifications.insert([held(c.id, e2, EARLY)], NOW);
    deepEqual(await dues(c.code), [LATER, EARLY]);
    await s.notifications.insert([note(plain.id, e1, LATER), note(plain.id, e2, EARLY)], NOW);
    deepEqual(await dues(plain.code), [LATER, EARLY]);
    deepEqual(await s.notifications.dueLanes(EARLY), [a.id, b.id]);
  },
);

backendTest(
  "notification store: sent, retry and failed marks move only a pending row, and reopen re-sends failed ones",
  async (s, sql) => {
    const a = await subscription(s);
    const [e1, e2, e3] = await events(sql, "{}", "{}", "{}");
    await s.notifications.insert([note(a.id, e1), note(a.id, e2), note(a.id, e3)], NOW);
    const [n1, n2, n3] = (await s.notifications.list({ subscription: a.code })).reverse();
    equal(await s.notifications.markRetry(n1.id, { error: "timeout" }, LATER, SOON), true);
    let got = await s.notifications.get(n1.notification_id);
    deepEqual(
      [
        got?.status,
        got?.attempts,
        got?.last_error,
        got?.receiver_code,
        got?.next_attempt_at,
        got?.updated_at,
      ],
      ["pending", 1, "timeout", null, LATER, SOON],
    );
    equal(await s.notifications.markSent(n1.id, LATER), true);
    equal(await s.notifications.markSent(n1.id, LATER), false);
    equal(await s.notifications.markRetry(n1.id, { error: "x" }, LATER, LATER), false);
    got = await s.notifications.get(n1.notification_id);
    deepEqual([got?.status, got?.attempts, got?.last_error, got?.sent_at], ["sent", 2, null, LATER]);
    equal(await s.notifications.markFailed(n2.id, { error: "refused", receiverCode: "rjct.x" }, SOON), true);
    equal(await s.notifications.markFailed(n2.id, { error: "again" }, SOON), false);
    got = await s.notifications.get(n2.notification_id);
    deepEqual([got?.status, got?.attempts, got?.receiver_code, got?.subscription_code, got?.sender_id], [
      "failed",
      1,
      "rjct.x",
      a.code,
      "s1",
    ]);
    await s.notifications.markFailed(n3.id, { error: "refused" }, SOON);
    // By id: only a failed row reopens, with a fresh budget and the same ids.
    equal(await s.notifications.reopenFailed({ id: n1.id }, LATER), 0);
    equal(await s.notifications.reopenFailed({ id: n2.id }, LATER), 1);
    got = await s.notifications.get(n2.notification_id);
    deepEqual([got?.status, got?.attempts, got?.next_attempt_at, got?.message_id], [
      "pending",
      0,
      LATER,
      n2.message_id,
    ]);
    await s.notifications.markFailed(n2.id, { error: "refused" }, LATER);
    equal(await s.notifications.reopenFailed({ subscriptionId: a.id }, LATER), 2);
    deepEqual(await log(s, a.code), [[e1, "sent"], [e2, "pending"], [e3, "pending"]]);
    equal(await s.notifications.get("no-such-id"), undefined);
  },
);

backendTest(
  "notification store: reopenUndelivered re-sends only failures after the last delivered one",
  async (s, sql) => {
    const a = await subscription(s);
    const [e1, e2, e3] = await events(sql, "{}", "{}", "{}");
    await s.notifications.insert([note(a.id, e1), note(a.id, e2), note(a.id, e3)], NOW);
    const [n1, n2, n3] = (await s.notifications.list({ subscription: a.code })).reverse();
    await s.notifications.markFailed(n1.id, { error: "x" }, NOW);
    await s.notifications.markSent(n2.id, NOW);
    await s.notifications.markFailed(n3.id, { error: "x" }, NOW);
    equal(await s.notifications.reopenUndelivered(a.id, LATER), 1);
    deepEqual(await log(s, a.code), [[e1, "failed"], [e2, "sent"], [e3, "pending"]]);
  },
);

backendTest(
  "notification store: markReceived by id, message id or code; refuses others' and unknown; idempotent",
  async (s, sql) => {
    const a = await subscription(s);
    const other = await subscription(s, { sender_id: "s2" });
    const [e1, e2] = await events(sql, "{}", "{}");
    await s.notifications.insert([note(a.id, e1), note(a.id, e2), note(other.id, e1)], NOW);
    const [n1, n2] = (await s.notifications.list({ subscription: a.code })).reverse();
    const [o1] = await s.notifications.list({ subscription: other.code });
    deepEqual(await s.notifications.markReceived("s1", "nope", NOW), { ok: false, reason: "unknown" });
    deepEqual(await s.notifications.markReceived("s1", o1.notification_id, NOW), {
      ok: false,
      reason: "not_yours",
    });
    deepEqual(
      await s.notifications.markReceived(
        "s1",
        { notificationId: n1.notification_id, subscriptionCode: "zz" },
        NOW,
      ),
      { ok: false, reason: "unknown" },
    );
    // Nothing delivered yet: a code alone names nothing.
    deepEqual(await s.notifications.markReceived("s1", { subscriptionCode: a.code }, NOW), {
      ok: false,
      reason: "unknown",
    });
    // A pending one named by id counts as delivered.
    const first = await s.notifications.markReceived("s1", n1.notification_id, SOON);
    ok(first.ok);
    equal(first.already, false);
    deepEqual(
      [
        first.row.status,
        first.row.received_at,
        first.row.sent_at,
        first.row.subscription_code,
        first.row.sender_id,
      ],
      ["received", SOON, SOON, a.code, "s1"],
    );
    const again = await s.notifications.markReceived("s1", n1.notification_id, LATER);
    ok(again.ok);
    equal(again.already, true);
    equal(again.row.received_at, SOON);
    // By the notify message_id.
    await s.notifications.markSent(n2.id, SOON);
    const byMessage = await s.notifications.markReceived("s1", n2.message_id, LATER);
    ok(byMessage.ok && !byMessage.already);
    deepEqual([byMessage.row.id, byMessage.row.sent_at, byMessage.row.received_at], [n2.id, SOON, LATER]);
    // By code: the latest delivered one, already received.
    const byCode = await s.notifications.markReceived("s1", { subscriptionCode: a.code }, LATER);
    ok(byCode.ok);
    deepEqual([byCode.row.id, byCode.already], [n2.id, true]);
  },
);

backendTest(
  "notification store: a batch ends before the event whose record would pass the bytes bound, the first whatever its size",
  async (s, sql) => {
    const a = await subscription(s, { frequency: '{"frequency":"0 * * * *"}' });
    const json = (chars: number) => JSON.stringify({ v: "x".repeat(chars - 8) });
    // 300, 300 (in 154 characters: two-byte letters), 200, 2,000 and 300 bytes as stored: the first three are 654
    // characters, but 800 bytes.
    const ev = await events(
      sql,
      json(300),
      JSON.stringify({ v: "é".repeat(146) }),
      json(200),
      json(2000),
      json(300),
    );
    await s.notifications.insert(ev.map((e) => note(a.id, e)), NOW);
    const batches: number[][] = [];
    for (;;) {
      const pending = await s.notifications.pending(a.id, 1);
      if (pending.length === 0) break;
      const batch = await s.notifications.batchOf(pending[0].n, { now: NOW, max: 10, maxBytes: 700 });
      batches.push(batch.map((r) => ev.indexOf(r.event_id)));
      await s.notifications.markBatch(batch, { kind: "sent" }, NOW);
    }
    // Before, one batch held all five (only the count was bounded).
    deepEqual(batches, [[0, 1], [2], [3], [4]]);
  },
);

backendTest(
  "notification store: a batch is sealed under the head's notification id, marked together, and received together",
  async (s, sql) => {
    const a = await subscription(s, { frequency: '{"frequency":"0 * * * *"}' });
    const ev = await events(sql, "{}", "{}", "{}", "{}");
    await s.notifications.insert([note(a.id, ev[0]), note(a.id, ev[1]), note(a.id, ev[2], LATER)], NOW);
    const [{ n: head }] = await s.notifications.pending(a.id, 1);
    const batch = await s.notifications.batchOf(head, { now: NOW, max: 10, maxBytes: 1 << 20 });
    deepEqual(batch.map((r) => r.event_id), [ev[0], ev[1]]);
    ok(batch.every((r) => r.message_id === head.notification_id));
    // A new notification due now waits for a later batch: the sealed one is read back as is.
    await s.notifications.insert([note(a.id, ev[3])], NOW);
    deepEqual(
      (await s.notifications.batchOf(head, { now: NOW, max: 10, maxBytes: 1 << 20 })).map((r) => r.id),
      batch.map((r) => r.id),
    );
    const failure = { error: "503", receiverCode: "rjct.busy" };
    equal(await s.notifications.markBatch(batch, { kind: "retry", failure, nextAt: SOON }, NOW), 0);
    let rows = (await s.notifications.list({ subscription: a.code })).reverse();
    deepEqual(rows.map((r) => [r.attempts, r.next_attempt_at]), [[1, SOON], [1, SOON], [0, LATER], [0, NOW]]);
    equal(await s.notifications.markBatch(batch, { kind: "sent" }, SOON), 2);
    // Already sent: nothing moves again.
    equal(await s.notifications.markBatch(batch, { kind: "sent" }, SOON), 0);
    // A receipt of one member marks the whole notify received.
    const r = await s.notifications.markReceived("s1", batch[1].notification_id, LATER);
    ok(r.ok && !r.already);
    rows = (await s.notifications.list({ subscription: a.code })).reverse();
    deepEqual(rows.map((n) => n.status), ["received", "received", "pending", "pending"]);
    // A failure on a batch fails every member.
    const rest = (await s.notifications.list({ subscription: a.code, status: "pending" })).reverse();
    equal(await s.notifications.markBatch(rest, { kind: "failed", failure }, LATER), 0);
    deepEqual(await s.notifications.counts(), [{ status: "failed", n: 2 }, { status: "received", n: 2 }]);
  },
);

backendTest(
  "notification store: concurrent receipts of a batch's members all succeed, one marking the notify received",
  async (s, sql) => {
    const a = await subscription(s, { frequency: '{"frequency":"0 * * * *"}' });
    const ev = await events(sql, "{}", "{}", "{}", "{}", "{}", "{}");
    await s.notifications.insert(ev.map((e) => note(a.id, e)), NOW);
    const [{ n: head }] = await s.notifications.pending(a.id, 1);
    const batch = await s.notifications.batchOf(head, { now: NOW, max: 10, maxBytes: 1 << 20 });
    equal(batch.length, ev.length);
    equal(await s.notifications.markBatch(batch, { kind: "sent" }, NOW), ev.length);
    // Each event of a batched notify carries its own id, and a receiver may acknowledge each at once. On
    // PostgreSQL, two of them locked their own row and then waited for each other's (a deadlock, one refused).
    const results = await Promise.all(
      [...batch].reverse().map((m) => s.notifications.markReceived("s1", m.notification_id, LATER)),
    );
    ok(results.every((r) => r.ok), JSON.stringify(results.filter((r) => !r.ok)));
    equal(results.filter((r) => r.ok && !r.already).length, 1);
    deepEqual(await s.notifications.counts(), [{ status: "received", n: ev.length }]);
  },
);

backendTest(
  "notification store: list filters, orders newest first, pages by cursor and offset, bounds the limit",
  async (s, sql) => {
    const a = await subscription(s);
    const b = await subscription(s, { sender_id: "s2" });
    const ev = await events(sql, "{}", "{}", "{}", "{}");
    await s.notifications.insert([note(a.id, ev[0]), note(a.id, ev[1])], NOW);
    await s.notifications.insert([note(b.id, ev[2])], SOON);
    await s.notifications.insert([note(a.id, ev[3])], LATER);
    const all = await s.notifications.list();
    deepEqual(all.map((n) => n.created_at), [LATER, SOON, NOW, NOW]);
    ok(all[2].id > all[3].id);
    deepEqual((await s.notifications.list({ sender: "s2" })).map((n) => n.event_id), [ev[2]]);
    deepEqual((await s.notifications.list({ subscription: a.code })).map((n) => n.event_id), [
      ev[3],
      ev[1],
      ev[0],
    ]);
    deepEqual((await s.notifications.list({ since: SOON, until: LATER })).map((n) => n.event_id), [ev[2]]);
    deepEqual(await s.notifications.list({ status: "sent" }), []);
    // Keyset: the page after a row starts below its (created_at, id).
    const page1 = await s.notifications.list({ limit: 2 });
    deepEqual(page1.map((n) => n.id), all.slice(0, 2).map((n) => n.id));
    const page2 = await s.notifications.list({ limit: 2, before: page1[1].id });
    deepEqual(page2.map((n) => n.id), all.slice(2).map((n) => n.id));
    deepEqual(await s.notifications.list({ before: 0 }), []);
    deepEqual((await s.notifications.list({ limit: 1, offset: 1 })).map((n) => n.id), [all[1].id]);
    equal((await s.notifications.list({ limit: 0 })).length, 1);
    equal((await s.notifications.list({ limit: 5000 })).length, 4);
    equal((await s.notifications.list({ offset: -3 })).length, 4);
  },
);

backendTest(
  "notification store: concurrent receipts of one notification mark it once",
  async (s, sql) => {
    const a = await subscription(s);
    const [e1] = await events(sql, "{}");
    await s.notifications.insert([note(a.id, e1)], NOW);
    const [n] = await s.notifications.list();
    await s.notifications.markSent(n.id, NOW);
    const results = await Promise.all(
      [1, 2, 3, 4].map((i) =>
        s.notifications.markReceived("s1", n.notification_id, `2026-06-01T00:0${i}:00.000Z`)
      ),
    );
    const fresh = results.filter((r) => r.ok && !r.already);
    equal(fresh.length, 1);
    ok(results.every((r) => r.ok));
    const marked = await s.notifications.get(n.notification_id);
    equal(marked?.received_at, (fresh[0] as { row: NotificationRow }).row.received_at);
  },
);

backendTest(
  "notification store: retention deletes finished notifications past the cutoff, in chunks, never pending ones",
  async (s, sql) => {
    const sub = await subscription(s);
    const ids = await events(sql, ...Array.from({ length: 2_005 }, () => "{}"));
    await s.notifications.insert(ids.map((id) => note(sub.id, id)), NOW);
    // 2,003 finished long ago (more than one chunk), one finished but changed since the cutoff, one still pending.
    await sql(
      "UPDATE notifications SET status = 'sent', created_at = ?, updated_at = ? WHERE event_id <= ?",
      [
        "2026-01-01T00:00:00.000Z",
        "2026-01-01T00:00:00.000Z",
        ids[2_002],
      ],
    );
    await sql(
      "UPDATE notifications SET status = 'failed', created_at = ?, updated_at = ? WHERE event_id = ?",
      [
        "2026-01-01T00:00:00.000Z",
        LATER,
        ids[2_003],
      ],
    );
    await sql("UPDATE notifications SET created_at = ?, updated_at = ? WHERE event_id = ?", [
      "2026-01-01T00:00:00.000Z",
      "2026-01-01T00:00:00.000Z",
      ids[2_004],
    ]);
    equal(await s.notifications.purgeFinished(NOW), 2_003);
    deepEqual(await log(s, sub.code), [[ids[2_003], "failed"], [ids[2_004], "pending"]]);
    equal(await s.notifications.purgeFinished(NOW), 0);
  },
);

Deno.test("notification store [postgres]: retention keeps a notification an operator reopened while the purge waited for its row", async () => {
  const url = await freshPgDatabase();
  const pool = openPgPool(url, { max: 4 });
  const operator = openPgPool(url, { max: 1 });
  try {
    const s = pgStorage(pool);
    const sql = pgRawSql(pool);
    const sub = await subscription(s);
    const [e1] = await events(sql, "{}");
    await s.notifications.insert([note(sub.id, e1)], NOW);
    const OLD = "2026-01-01T00:00:00.000Z";
    await sql("UPDATE notifications SET status = 'failed', created_at = ?, updated_at = ?", [OLD, OLD]);
    // The operator's retry holds the row (uncommitted) when the purge reads it as finished long ago.
    const c = await operator.connect();
    try {
      await c.query("BEGIN");
      await c.query("UPDATE notifications SET status = 'pending', attempts = 0, updated_at = $1", [LATER]);
      const purge = s.notifications.purgeFinished(NOW);
      await new Promise((r) => setTimeout(r, 300)); // the purge is waiting for the row's lock
      await c.query("COMMIT");
      equal(await purge, 0);
    } finally {
      c.release();
    }
    deepEqual(await log(s, sub.code), [[e1, "pending"]]);
  } finally {
    await pool.end();
    await operator.end();
  }
});

Deno.test("notification store [postgres]: a receipt of a batch's member waits for a lane marking the batch in id order, no deadlock", async () => {
  const url = await freshPgDatabase();
  const pool = openPgPool(url, { max: 4 });
  const lane = openPgPool(url, { max: 1 });
  try {
    const s = pgStorage(pool);
    const sql = pgRawSql(pool);
    const a = await subscription(s, { frequency: '{"frequency":"0 * * * *"}' });
    const ev = await events(sql, "{}", "{}", "{}", "{}");
    await s.notifications.insert(ev.map((e) => note(a.id, e)), NOW);
    const [{ n: head }] = await s.notifications.pending(a.id, 1);
    const batch = await s.notifications.batchOf(head, { now: NOW, max: 10, maxBytes: 1 << 20 });
    equal(batch.length, 4);
    // A lane marking the batch sent, member by member in id order, has marked the first two.
    const c = await lane.connect();
    try {
      await c.query("BEGIN");
      for (const m of batch.slice(0, 2)) {
        await c.query("UPDATE notifications SET status = 'sent', sent_at = $1 WHERE id = $2", [NOW, m.id]);
      }
      // A receipt of the third member meanwhile. Before, it locked that member, then waited for the first two
      // while the lane waited for it: PostgreSQL refused one of them after a second.
      const receipt = s.notifications.markReceived("s1", batch[2].notification_id, LATER).catch((e: Error) =>
        e
      );
      await new Promise((r) => setTimeout(r, 300)); // the receipt is waiting
      for (const m of batch.slice(2)) {
        await c.query("UPDATE notifications SET status = 'sent', sent_at = $1 WHERE id = $2", [NOW, m.id]);
      }
      await c.query("COMMIT");
      const r = await receipt;
      ok(!(r instanceof Error) && r.ok && !r.already, r instanceof Error ? r.message : JSON.stringify(r));
    } catch (err) {
      await c.query("ROLLBACK").catch(() => {});
      throw err;
    } finally {
      c.release();
    }
    deepEqual(await s.notifications.counts(), [{ status: "received", n: 4 }]);
  } finally {
    await pool.end();
    await lane.end();
  }
});

backendTest(
  "notification store: a sender's page is the same whether found among the newest notifications or read from its own",
  async (s, sql) => {
    const big = await subscription(s, { sender_id: "big" });
    const few = await subscription(s, { sender_id: "few" });
    const count = SENDER_WINDOW + 100;
    await sql(
      `WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < ${count + 3})
       INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
       SELECT 'social', 'registration', 'person', 1, '{}', ? FROM k`,
      [NOW],
    );
    const ids = (await sql("SELECT id FROM registry_events ORDER BY id")).map((r) => Number(r.id)).slice(
      -(count + 3),
    );
    const [fewIds, bigIds] = [ids.slice(0, 3), ids.slice(3)];
    // The few sender's three first, then more of the big one's than the window holds.
    await s.notifications.insert(fewIds.map((e) => note(few.id, e)), NOW);
    await s.notifications.insert(bigIds.map((e) => note(big.id, e)), LATER);
    const newest = bigIds.toReversed();
    const bigPage = await s.notifications.list({ sender: "big", limit: 50 });
    deepEqual(bigPage.map((n) => n.event_id), newest.slice(0, 50));
    // None of the few sender's is among the newest: its page is read from its own rows.
    deepEqual(
      (await s.notifications.list({ sender: "few", limit: 50 })).map((n) => n.event_id),
      fewIds.toReversed(),
    );
    // Paged by cursor and offset as any list, past the window too.
    const next = await s.notifications.list({ sender: "big", limit: 50, before: bigPage[49].id });
    deepEqual(next.map((n) => n.event_id), newest.slice(50, 100));
    const offset = await s.notifications.list({ sender: "big", limit: 10, offset: 4990 });
    deepEqual(offset.map((n) => n.event_id), newest.slice(4990, 5000));
    const pastWindow = await s.notifications.list({ sender: "big", limit: 10, offset: SENDER_WINDOW + 50 });
    deepEqual(pastWindow.map((n) => n.event_id), newest.slice(SENDER_WINDOW + 50, SENDER_WINDOW + 60));
  },
);
