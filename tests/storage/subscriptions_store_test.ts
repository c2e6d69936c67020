/** The subscription store, the same contract on both backends. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { backendTest, freshPgDatabase, type RawSql } from "../helpers/storage.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgStorage } from "../../src/db/pg/storage.ts";
import { lockEvents } from "../../src/registry/pg_event_lock.ts";
import type { NewSubscription } from "../../src/subscriptions/store.ts";
import { newSubscription, subscriptionsOf } from "../helpers/subscription_fixture.ts";

const NOW = "2026-06-01T00:00:00.000Z";
const LATER = "2026-06-02T00:00:00.000Z";
/** Before every stored time: no subscription in error is old enough (DCI_SUBSCRIPTION_ERROR_EXPIRY_DAYS=0). */
const NEVER = "0000";

const sub = (over: Partial<NewSubscription> = {}) => newSubscription(NOW, over);

async function addNotification(sql: RawSql, subscriptionId: number, eventId: number, status: string) {
  await sql(
    `INSERT INTO notifications (notification_id, subscription_id, event_id, event_type, record_type, record_count,
       message_id, status, next_attempt_at, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)`,
    [
      `n${subscriptionId}-${eventId}`,
      subscriptionId,
      eventId,
      "registration",
      "person",
      1,
      `m${eventId}`,
      status,
      NOW,
      NOW,
      NOW,
    ],
  );
}

async function statuses(sql: RawSql, subscriptionId: number): Promise<string[]> {
  return (await sql("SELECT status FROM notifications WHERE subscription_id = ? ORDER BY id", [
    subscriptionId,
  ]))
    .map((r) => String(r.status));
}

backendTest(
  "subscription store: insert creates, repeats, and refuses taken codes, duplicates and the limit",
  async (s) => {
    const store = subscriptionsOf(s);
    const first = await store.insert(sub({ correlation_id: "c-a", dedupe_key: "same", code: "code-1" }), 2);
    equal(first.kind, "created");
    if (first.kind !== "created") return;
    equal(first.row.state, "active");
    equal(first.row.activated_at, NOW);
    equal(first.row.code, "code-1");
    equal(typeof first.row.id, "number");
    equal(first.row.from_event_id, 0);
    equal(first.row.consecutive_failures, 0);
    // The same request item again: the same row.
    const again = await store.insert(sub({ correlation_id: "c-a", dedupe_key: "same" }), 2);
    deepEqual(again, { kind: "existing", row: first.row });
    equal((await store.insert(sub({ code: "code-1" }), 2)).kind, "code_taken");
    equal((await store.insert(sub({ dedupe_key: "same" }), 2)).kind, "duplicate");
    equal(await store.liveDuplicateCode("s1", "same"), "code-1");
    equal(await store.liveDuplicateCode("s2", "same"), undefined);
    // Another sender may use the same criteria.
    equal((await store.insert(sub({ sender_id: "s2", dedupe_key: "same" }), 2)).kind, "created");
    // A sender not (or no longer) registered gets none: one deleted while its subscribe was processed would
    // keep a live subscription under an id another sender may be registered with.
    equal((await s.subscriptions.insert(sub({ sender_id: "deleted" }), 2)).kind, "no_sender");
    const pending = await store.insert(sub({ active: false }), 2);
    equal(pending.kind, "created");
    if (pending.kind === "created") {
      equal(pending.row.state, "pending");
      equal(pending.row.activated_at, null);
    }
    equal((await store.insert(sub(), 2)).kind, "limit");
  },
);

backendTest(
  "subscription store: concurrent inserts keep the limit and the live-duplicate rule exactly",
  async (s) => {
    const store = subscriptionsOf(s);
    const outcomes = await Promise.all(
      Array.from({ length: 8 }, () => store.insert(sub({ sender_id: "race" }), 3)),
    );
    equal(outcomes.filter((o) => o.kind === "created").length, 3);
    equal(outcomes.filter((o) => o.kind === "limit").length, 5);
    const dups = await Promise.all(
      Array.from({ length: 6 }, () => store.insert(sub({ sender_id: "dup", dedupe_key: "one" }), 10)),
    );
    equal(dups.filter((o) => o.kind === "created").length, 1);
    equal(dups.filter((o) => o.kind === "duplicate").length, 5);
    const codes = await Promise.all(
      ["x1", "x2", "x3"].map((sender) => store.insert(sub({ sender_id: sender, code: "shared-code" }), 10)),
    );
    deepEqual(codes.map((o) => o.kind).sort(), ["code_taken", "code_taken", "created"]);
  },
);

backendTest("subscription store: get, list with filters, keyset and offset, counts", async (s) => {
  const store = subscriptionsOf(s);
  const ids: number[] = [];
  for (let i = 0; i < 5; i++) {
    const o = await store.insert(
      sub({ sender_id: i % 2 ? "odd" : "even", registry: i < 3 ? "social" : "crvs" }),
      10,
    );
    if (o.kind === "created") ids.push(o.row.id);
  }
  equal(ids.length, 5);
  const one = await store.getById(ids[2]);
  deepEqual(await store.get(one!.code), one);
  equal(await store.get("nope"), undefined);
  equal(await store.getById(999_999), undefined);
  deepEqual((await store.list()).map((r) => r.id), [...ids].reverse());
  deepEqual((await store.list({ sender: "odd" })).map((r) => r.id), [ids[3], ids[1]]);
  deepEqual((await store.list({ registry: "crvs" })).map((r) => r.id), [ids[4], ids[3]]);
  deepEqual((await store.list({ before: ids[2], limit: 1 })).map((r) => r.id), [ids[1]]);
  deepEqual((await store.list({ limit: 2, offset: 1 })).map((r) => r.id), [ids[3], ids[2]]);
  deepEqual(await store.list({ state: "pending" }), []);
  await store.end(ids[0], "cancelled", LATER, "operator");
  deepEqual(await store.counts(), [{ state: "active", n: 4 }, { state: "cancelled", n: 1 }]);
  deepEqual((await store.fanOut()).map((r) => r.id), ids.slice(1));
});

backendTest(
  "subscription store: approve moves pending to active once, from the newest event",
  async (s, sql) => {
    const store = subscriptionsOf(s);
    const o = await store.insert(sub({ active: false, code: "p1" }), 10);
    ok(o.kind === "created");
    await sql(
      `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
     VALUES ('social', 'registration', 'person', 7, '{}', ?)`,
      [NOW],
    );
    const [{ id: eventId }] = await sql("SELECT MAX(id) AS id FROM registry_events");
    const done = await store.approve("p1", LATER);
    equal(done?.state, "active");
    equal(done?.activated_at, LATER);
    equal(done?.from_event_id, Number(eventId));
    equal(await store.approve("p1", LATER), undefined);
    equal(await store.approve("missing", LATER), undefined);
  },
);

backendTest(
  "subscription store: end writes the subscription alone, what was waiting fails after it; reactivate re-sends the undelivered since the last sent",
  async (s, sql) => {
    const store = subscriptionsOf(s);
    const o = await store.insert(sub({ code: "e1" }), 10);
    if (o.kind !== "created") throw new Error(o.kind);
    const id = o.row.id;
    await addNotification(sql, id, 1, "sent");
    await addNotification(sql, id, 2, "failed");
    await addNotification(sql, id, 3, "failed");
    await sql(
      "UPDATE subscriptions SET state = 'error', consecutive_failures = 4, last_error = 'down' WHERE id = ?",
      [id],
    );
    const back = await store.reactivate("e1", LATER);
    equal(back?.resent, 2);
    equal(back?.row.state, "active");
    equal(back?.row.consecutive_failures, 0);
    equal(back?.row.last_error, null);
    deepEqual(await statuses(sql, id), ["sent", "pending", "pending"]);
    equal(await store.reactivate("e1", LATER), undefined, "only a subscription in error reactivates");

    const ended = await store.end(id, "cancelled", LATER, "corr-9");
    equal(ended?.state, "cancelled");
    equal(ended?.cancelled_by, "corr-9");
    equal(ended?.ended_at, LATER);
    deepEqual(await statuses(sql, id), ["sent", "pending", "pending"]);
    equal(await s.notifications.failEnded(id, LATER, 1), 1, "a chunk of one");
    deepEqual(await statuses(sql, id), ["sent", "failed", "pending"]);
    equal(await s.notifications.failEnded(id, LATER, 2000), 1);
    deepEqual(await statuses(sql, id), ["sent", "failed", "failed"]);
    const [{ last_error }] = await sql(
      "SELECT last_error FROM notifications WHERE subscription_id = ? AND event_id = 3",
      [id],
    );
    equal(last_error, "subscription cancelled");
    equal(await store.end(id, "expired", LATER), undefined, "an ended subscription does not end twice");
  },
);

backendTest(
  "subscription store: due for expiry skips an active subscription still holding notifications, batched or not",
  async (s, sql) => {
    const store = subscriptionsOf(s);
    const plain = await store.insert(sub({ end_time: NOW }), 10);
    const future = await store.insert(sub({ end_time: "2099-01-01T00:00:00Z" }), 10);
    const batched = await store.insert(
      sub({ end_time: NOW, frequency: JSON.stringify({ frequency: "0 * * * *", start_time: NOW }) }),
      10,
    );
    const batchedEmpty = await store.insert(
      sub({ end_time: NOW, frequency: JSON.stringify({ frequency: "0 * * * *" }) }),
      10,
    );
    if (
      plain.kind !== "created" || future.kind !== "created" || batched.kind !== "created" ||
      batchedEmpty.kind !== "created"
    ) {
      throw new Error("setup");
    }
    const holding = await store.insert(sub({ end_time: NOW }), 10);
    if (holding.kind !== "created") throw new Error("setup");
    await addNotification(sql, batched.row.id, 1, "pending");
    await addNotification(sql, holding.row.id, 2, "pending");
    deepEqual(await store.dueForExpiry(LATER, NEVER), [plain.row.id, batchedEmpty.row.id]);
    deepEqual(await store.dueForExpiry(LATER, NEVER, 1), [plain.row.id]);
    await sql("UPDATE notifications SET status = 'sent' WHERE subscription_id IN (?, ?)", [
      batched.row.id,
      holding.row.id,
    ]);
    deepEqual(await store.dueForExpiry(LATER, NEVER), [
      plain.row.id,
      batched.row.id,
      batchedEmpty.row.id,
      holding.row.id,
    ]);
  },
);

backendTest(
  "subscription store: due for expiry takes a subscription in error since before the given time, whatever it holds; the expiry checks it again in its write",
  async (s, sql) => {
    const store = subscriptionsOf(s);
    const made = [];
    for (let i = 0; i < 3; i++) {
      const o = await store.insert(sub({ end_time: i === 2 ? "2099-01-01T00:00:00Z" : null }), 10);
      if (o.kind !== "created") throw new Error("setup");
      made.push(o.row.id);
    }
    const [oldError, newError, active] = made;
    await sql("UPDATE subscriptions SET state = 'error', updated_at = ? WHERE id = ?", [NOW, oldError]);
    await sql("UPDATE subscriptions SET state = 'error', updated_at = ? WHERE id = ?", [LATER, newError]);
    await sql("UPDATE subscriptions SET updated_at = ? WHERE id = ?", [NOW, active]);
    await addNotification(sql, oldError, 1, "pending");
    deepEqual(await store.dueForExpiry(LATER, NEVER), [], "not while errors never expire");
    deepEqual(await store.dueForExpiry(LATER, NOW), [oldError]);
    deepEqual(await store.dueForExpiry(LATER, LATER), [oldError, newError], "an active one is not in error");
    // The expiry re-checks in its write: one reactivated since the read stays active; one still due expires.
    await sql("UPDATE subscriptions SET state = 'active', updated_at = ? WHERE id = ?", [LATER, newError]);
    equal(await store.expireIfDue(newError, LATER, LATER, LATER), undefined);
    equal((await store.getById(newError))?.state, "active");
    equal((await store.expireIfDue(oldError, LATER, LATER, NOW))?.state, "expired");
    equal(await store.expireIfDue(oldError, LATER, LATER, NOW), undefined, "once");
  },
);

backendTest(
  "subscription store: a deleted sender's live subscriptions are cancelled for good, their waiting notifications counted and failed after",
  async (s, sql) => {
    const store = subscriptionsOf(s);
    const made = [
      await store.insert(sub({ sender_id: "gone" }), 10),
      await store.insert(sub({ sender_id: "gone" }), 10),
      await store.insert(sub({ sender_id: "gone" }), 10),
      await store.insert(sub({ sender_id: "stays" }), 10),
    ].map((o) => o.kind === "created" ? o.row.id : 0);
    await store.end(made[2], "cancelled", NOW, "operator");
    for (const id of made) await addNotification(sql, id, 1, "pending");
    await addNotification(sql, made[0], 2, "sent");
    // One subscription met by a lane first: only it.
    deepEqual(await store.cancelForDeletedSender({ id: made[0] }, "sender deleted", LATER), {
      subscriptions: 1,
      notifications: 1,
    });
    // Then the rest of the sender's live ones; the one already ended and the other sender's stay as they are.
    deepEqual(await store.cancelForDeletedSender({ senderId: "gone" }, "sender deleted", LATER), {
      subscriptions: 1,
      notifications: 1,
    });
    const rows = await Promise.all(made.map((id) => store.getById(id)));
    deepEqual(rows.map((r) => [r?.state, r?.cancelled_by]), [
      ["cancelled", "sender-deleted"],
      ["cancelled", "sender-deleted"],
      ["cancelled", "operator"],
      ["active", null],
    ]);
    equal(rows[0]?.last_error, "sender deleted");
    deepEqual(await statuses(sql, made[0]), ["pending", "sent"]);
    // Ended subscriptions still holding pending rows (the one ended before its row was logged too), then failed.
    deepEqual(await s.notifications.endedHolding({ after: 0 }, 10), made.slice(0, 3));
    deepEqual(await s.notifications.endedHolding({ after: made[0] }, 1), [made[1]]);
    deepEqual(await s.notifications.endedHolding({ senderId: "gone" }, 10), made.slice(0, 3));
    deepEqual(await s.notifications.endedHolding({ senderId: "stays" }, 10), []);
    for (const id of made) await s.notifications.failEnded(id, LATER, 10);
    deepEqual(await statuses(sql, made[0]), ["failed", "sent"]);
    deepEqual(await statuses(sql, made[1]), ["failed"]);
    deepEqual(await statuses(sql, made[3]), ["pending"]);
    deepEqual(
      (await sql("SELECT last_error FROM notifications WHERE status = 'failed' ORDER BY subscription_id", []))
        .map((r) => r.last_error),
      ["sender deleted", "sender deleted", "subscription cancelled"],
    );
    deepEqual(await s.notifications.endedHolding({ after: 0 }, 10), []);
    deepEqual(await store.cancelForDeletedSender({ senderId: "gone" }, "again", LATER), {
      subscriptions: 0,
      notifications: 0,
    });
  },
);

Deno.test("subscription store [postgres]: a subscription made or approved while an event is being written starts after that event", async () => {
  const url = await freshPgDatabase();
  const pool = openPgPool(url, { max: 4 });
  const writer = openPgPool(url, { max: 1 });
  try {
    const store = subscriptionsOf(pgStorage(pool));
    const pending = await store.insert(sub({ active: false }), 10);
    if (pending.kind !== "created") throw new Error("setup");
    for (const step of ["insert", "approve"] as const) {
      // An event writer holds the event lock with its event inserted, not committed yet.
      const c = await writer.connect();
      let eventId: number;
      let made: Promise<{ from_event_id: number | null } | undefined>;
      try {
        await c.query("BEGIN");
        await lockEvents(c);
        const { rows } = await c.query(
          `INSERT INTO registry_events (registry, event_type, record_type, registrant_id, snapshot, created_at)
           VALUES ('social', 'registration', 'person', 1, '{}', $1) RETURNING id`,
          [NOW],
        );
        eventId = Number(rows[0].id);
        made = step === "insert"
          ? store.insert(sub(), 10).then((o) => o.kind === "created" ? o.row : undefined)
          : store.approve(pending.row.code, NOW);
        await new Promise((r) => setTimeout(r, 300));
        await c.query("COMMIT");
      } finally {
        c.release();
      }
      const row = await made;
      // Not before it: fan-out may log that event without a subscription not visible yet.
      equal(Number(row?.from_event_id), eventId, step);
    }
  } finally {
    await pool.end();
    await writer.end();
  }
});
