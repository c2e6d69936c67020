/**
 * Ending a subscription (operator cancel, unsubscribe, expiry, sender delete) is one small write; its waiting
 * notifications are never sent after it and are failed ENDED_CHUNK rows a transaction after it, what a stop leaves
 * by the sweep. Until then such a row is pending, and counted so.
 */
import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { addSender } from "../../src/senders/store.ts";
import { deleteSender } from "../../src/senders/offboarding.ts";
import { seedSubscription } from "../../src/subscriptions/seed.ts";
import { cancel } from "../../src/subscriptions/operations.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { fanOutAll } from "../../src/subscriptions/fanout.ts";
import { ENDED_CHUNK } from "../../src/subscriptions/store.ts";
import { expireSubscriptions, settleEnded, sweepEndedNotifications } from "../../src/subscriptions/expiry.ts";
import { isoNow } from "../../src/clock.ts";
import { input, person, putPerson, type Receiver, startReceiver } from "./helpers.ts";
import { unsubscribeProcessor } from "../../src/subscriptions/processors.ts";

const FIXED = { random: () => 0.5 };
const T0 = Date.parse("2026-03-02T10:00:00Z");

/** Sender `sender` (notified at `rx`) with an active subscription `code` to person updates; its row id. */
async function subscription(deps: TestDeps, rx: Receiver, sender: string, code: string): Promise<number> {
  await addSender(deps, sender, { name: sender, callback_base_url: rx.url });
  const sub = await seedSubscription(deps, {
    sender_id: sender,
    code,
    subscribe_criteria: { reg_event_type: "update", notify_record_type: "person" },
  });
  return sub.id;
}

/** Logs `n` pending notifications, due now, for subscription `id` (event ids from `firstEvent`). */
async function backlog(deps: TestDeps, id: number, n: number, firstEvent: number): Promise<void> {
  const at = isoNow(deps.clock);
  await deps.sql(
    `WITH RECURSIVE k(i) AS (SELECT CAST(? AS INTEGER) UNION ALL SELECT i + 1 FROM k WHERE i < CAST(? AS INTEGER))
     INSERT INTO notifications (notification_id, subscription_id, event_id, event_type, record_type,
       record_count, message_id, status, next_attempt_at, created_at, updated_at)
     SELECT 'n-' || ? || '-' || i, CAST(? AS INTEGER), i, 'update', 'person', 1, 'm-' || ? || '-' || i,
       'pending', ?, ?, ?
     FROM k`,
    [firstEvent, firstEvent + n - 1, id, id, id, at, at, at],
  );
}

/** The subscription's notifications by status and last_error, with how many of each. */
async function statuses(deps: TestDeps, id: number): Promise<Array<[string, string | null, number]>> {
  const rows = await deps.sql(
    `SELECT status, last_error, COUNT(*) AS n FROM notifications WHERE subscription_id = ?
     GROUP BY status, last_error ORDER BY status, last_error`,
    [id],
  ) as Array<{ status: string; last_error: string | null; n: number }>;
  return rows.map((r) => [r.status, r.last_error, Number(r.n)]);
}

/** The subscription code of a notify body. */
function codeOf(body: Record<string, unknown>): string {
  return (body.message as { notify_event: Array<{ subscription_code: string }> }).notify_event[0]
    .subscription_code;
}

Deno.test("end() writes the subscription alone; its waiting notifications are never sent, and fail a chunk at a time after it", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  try {
    const id = await subscription(deps, rx, "s1", "big");
    const live = await subscription(deps, rx, "s2", "live");
    // A registration and two real changes (a lane would send them), then a backlog of more than two chunks.
    await putPerson(deps, person("p1"));
    await putPerson(deps, person("p1", { sex: "male" }));
    await putPerson(deps, person("p1", { sex: "female" }));
    await fanOutAll(deps);
    const total = 2 * ENDED_CHUNK + 3;
    await backlog(deps, id, total - 4, 1_000_000);

    const ended = await deps.storage.subscriptions.end(id, "cancelled", isoNow(deps.clock), "operator");
    assert.deepEqual([ended?.state, ended?.cancelled_by], ["cancelled", "operator"]);
    assert.deepEqual(
      await statuses(deps, id),
      [["pending", null, total - 2]],
      "the end wrote no notification",
    );
    // Counted as pending until failed (the sender's outstanding work too), and never sent meanwhile; a live
    // subscription's rows are not the chunks' to fail.
    assert.equal((await deps.storage.senders.work("s1")).notifications, total - 2);
    assert.equal(await deps.storage.notifications.failEnded(live, isoNow(deps.clock), ENDED_CHUNK), 0);
    assert.equal(await runNotifierOnce(deps, FIXED), 2, "only the live subscription's rows are sent");
    assert.deepEqual(rx.received.map((r) => codeOf(r.body)), ["live", "live"]);
    assert.deepEqual(await statuses(deps, id), [["pending", null, total - 2]]);

    // One chunk, then a stop; a row fan-out logged as the subscription ended.
    assert.equal(
      await deps.storage.notifications.failEnded(id, isoNow(deps.clock), ENDED_CHUNK),
      ENDED_CHUNK,
    );
    await backlog(deps, id, 1, 2_000_000);
    assert.deepEqual(await statuses(deps, id), [
      ["failed", "subscription cancelled", ENDED_CHUNK],
      ["pending", null, total - 1 - ENDED_CHUNK],
    ]);
    // The sweep (the worker's schedule after a restart) fails the rest, oldest first, and finds nothing after.
    assert.equal(await sweepEndedNotifications(deps), total - 1 - ENDED_CHUNK);
    assert.deepEqual(await statuses(deps, id), [["failed", "subscription cancelled", total - 1]]);
    assert.equal(await sweepEndedNotifications(deps), 0);
    assert.equal((await deps.storage.senders.work("s1")).notifications, 0);
    assert.deepEqual(await statuses(deps, live), [["sent", null, 2]]);
  } finally {
    deps.close();
    await rx.close();
  }
});

Deno.test("settleEnded() fails the first chunk before it returns and the rest after; cancel() answers with a short backlog failed", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  try {
    const big = await subscription(deps, rx, "s1", "big");
    await backlog(deps, big, ENDED_CHUNK + 5, 1);
    await deps.storage.subscriptions.end(big, "expired", isoNow(deps.clock));
    const settled = await settleEnded(deps, { ids: [big] });
    assert.equal(settled.failed, ENDED_CHUNK);
    assert.equal(await settled.rest, 5);
    assert.deepEqual(await statuses(deps, big), [["failed", "subscription expired", ENDED_CHUNK + 5]]);

    const small = await subscription(deps, rx, "s2", "small");
    await backlog(deps, small, 3, 1);
    assert.equal((await cancel(deps, "small")).state, "cancelled");
    assert.deepEqual(await statuses(deps, small), [["failed", "subscription cancelled", 3]]);

    // A sender's unsubscribe likewise, before its answer.
    const mine = await subscription(deps, rx, "s3", "mine");
    await backlog(deps, mine, 3, 1);
    const r = await unsubscribeProcessor(
      deps,
      input("s3", { transaction_id: "u", subscription_codes: ["mine"] }),
    );
    assert.equal(r.status, "succ");
    assert.deepEqual(await statuses(deps, mine), [["failed", "subscription cancelled", 3]]);
  } finally {
    deps.close();
    await rx.close();
  }
});

Deno.test("expireSubscriptions() ends a subscription in error and fails its whole backlog after it", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  try {
    const id = await subscription(deps, rx, "s1", "err");
    await backlog(deps, id, 2 * ENDED_CHUNK + 1, 1);
    await deps.sql("UPDATE subscriptions SET state = 'error', end_time = ? WHERE id = ?", [
      isoNow(deps.clock),
      id,
    ]);
    deps.clock.advance(120_000);
    assert.equal(await expireSubscriptions(deps), 1);
    assert.equal((await deps.storage.subscriptions.getById(id))?.state, "expired");
    assert.deepEqual(await statuses(deps, id), [["failed", "subscription expired", 2 * ENDED_CHUNK + 1]]);
  } finally {
    deps.close();
    await rx.close();
  }
});

Deno.test("a subscription in error without an end expires after DCI_SUBSCRIPTION_ERROR_EXPIRY_DAYS (its backlog failed); 0 keeps it", async () => {
  for (const days of ["14", "0"]) {
    const deps = await testDeps({ outboundAllow: "127.0.0.1", subscriptionErrorExpiryDays: days }, {
      now: T0,
    });
    const rx = startReceiver({ registry: "social" });
    try {
      const id = await subscription(deps, rx, "s1", "gone");
      const kept = await subscription(deps, rx, "s2", "active");
      await backlog(deps, id, 3, 1);
      await deps.sql("UPDATE subscriptions SET state = 'error', updated_at = ? WHERE id = ?", [
        isoNow(deps.clock),
        id,
      ]);
      deps.clock.advance(14 * 86_400_000 - 60_000);
      assert.equal(await expireSubscriptions(deps), 0, "a minute before its days are up");
      deps.clock.advance(60_000);
      assert.equal(await expireSubscriptions(deps), days === "0" ? 0 : 1, days);
      const state = (await deps.storage.subscriptions.getById(id))?.state;
      assert.equal(state, days === "0" ? "error" : "expired");
      assert.deepEqual(
        await statuses(deps, id),
        [days === "0" ? ["pending", null, 3] : ["failed", "subscription expired", 3]],
      );
      assert.equal((await deps.storage.subscriptions.getById(kept))?.state, "active", "an active one stays");
    } finally {
      deps.close();
      await rx.close();
    }
  }
});

Deno.test("deleteSender() counts the waiting notifications it cancels; they fail with the reason (a lane's cancel's by the sweep)", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  try {
    const id = await subscription(deps, rx, "gone", "g1");
    await backlog(deps, id, 3, 1);
    assert.deepEqual(await deleteSender(deps, "gone"), {
      subscriptions: 1,
      notifications: 3,
      transactions: 0,
    });
    assert.deepEqual(await statuses(deps, id), [["failed", 'cancelled: sender "gone" was deleted', 3]]);

    // The store's cancel alone (a lane meeting a deleted sender's subscription) leaves them to the sweep.
    const other = await subscription(deps, rx, "s2", "g2");
    await backlog(deps, other, 2, 1);
    assert.deepEqual(
      await deps.storage.subscriptions.cancelForDeletedSender(
        { id: other },
        "sender deleted",
        isoNow(deps.clock),
      ),
      { subscriptions: 1, notifications: 2 },
    );
    assert.deepEqual(await statuses(deps, other), [["pending", null, 2]]);
    assert.equal(await sweepEndedNotifications(deps), 2);
    assert.deepEqual(await statuses(deps, other), [["failed", "sender deleted", 2]]);
  } finally {
    deps.close();
    await rx.close();
  }
});
