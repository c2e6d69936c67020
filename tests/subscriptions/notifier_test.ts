import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { addSender } from "../../src/senders/store.ts";
import { verifyEnvelope } from "../../src/auth/envelope_signature.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce, startNotifier } from "../../src/subscriptions/notifier.ts";
import { FANOUT_ROWS, fanOutAll } from "../../src/subscriptions/fanout.ts";
import { expireSubscriptions } from "../../src/subscriptions/expiry.ts";
import { input, person, putPerson, type Receiver, removePerson, startReceiver, subItem } from "./helpers.ts";

type Deps = Awaited<ReturnType<typeof testDeps>>;
const FIXED = { random: () => 0.5 };

async function subscribeOne(deps: Deps, sender: string, rx: Receiver, criteria: Record<string, unknown>) {
  const r = await subscribeProcessor(
    deps,
    input(sender, { transaction_id: "t", subscribe_request: [subItem("r", criteria)] }, rx.url),
  );
  const item =
    (r.message.subscribe_response as Array<{ status: string; subscriptions?: Array<{ code: string }> }>)[0];
  assert.notEqual(item.status, "rjct", JSON.stringify(item));
  return item.subscriptions![0].code;
}

function events(rx: Receiver): Array<Record<string, unknown>> {
  return rx.received.map((r) => {
    const ev = (r.body.message as { notify_event: Array<{ data: Record<string, unknown> }> }).notify_event[0];
    return ev.data;
  });
}

Deno.test("notifier delivers matching events in order, signed, filtered, deletes as identifiers only", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    await putPerson(deps, person("before"));
    const all = await subscribeOne(deps, "s1", rx, { reg_event_type: "update" });
    const females = await subscribeOne(deps, "s1", rx, {
      reg_event_type: "update",
      filter_type: "expression",
      filter: { expression: { sex: { $eq: "female" } } },
    });
    const deletes = await subscribeOne(deps, "s1", rx, { reg_event_type: "DELETE" });
    await putPerson(deps, person("before", { sex: "male" })); // update, male
    await putPerson(deps, person("before", { sex: "female" })); // update, female
    await putPerson(deps, person("new1")); // registration: nobody asked
    await removePerson(deps, "before");
    await runNotifierOnce(deps, FIXED);
    const byCode = (code: string) =>
      rx.received.filter((r) =>
        (r.body.message as { notify_event: Array<{ subscription_code: string }> }).notify_event[0]
          .subscription_code ===
          code
      );
    assert.equal(byCode(all).length, 2);
    assert.equal(byCode(females).length, 1);
    assert.equal(byCode(deletes).length, 1);
    assert.equal(rx.received.length, 4);
    // In order for the unfiltered subscription: male first, then female.
    const sexes = byCode(all).map((
      r,
    ) => ((r.body.message as { notify_event: Array<{ data: { reg_records: { sex: string } } }> })
      .notify_event[0]
      .data.reg_records.sex)
    );
    assert.deepEqual(sexes, ["male", "female"]);
    // The delete carries identifiers only.
    const del =
      (byCode(deletes)[0].body.message as { notify_event: Array<{ data: Record<string, unknown> }> })
        .notify_event[0].data;
    assert.equal(del.reg_event_type, "DELETE");
    const rec = del.reg_records as Record<string, unknown>;
    assert.equal(rec["@id"], "before");
    assert.ok(Array.isArray(rec.identifier));
    assert.equal(rec.name, undefined);
    assert.equal(rec.birth_date, undefined);
    // Signed notify envelopes with the notification id header.
    for (const r of rx.received) {
      assert.equal(r.path, "/registry/notify");
      const header = r.body.header as Record<string, unknown>;
      assert.equal(header.action, "notify");
      assert.equal(header.receiver_id, "s1");
      const id = r.headers.get("x-dci-notification-id");
      assert.ok(id);
      assert.equal((r.body.message as { transaction_id: string }).transaction_id, id);
      const v = verifyEnvelope(r.body as { header: unknown; message: unknown; signature: string }, {
        nowMs: deps.clock.now(),
        resolveKey: () => deps.keys.active().publicKey,
      });
      assert.equal(v.ok, true);
    }
    const log = await deps.storage.notifications.list({ subscription: all });
    assert.deepEqual(log.map((n) => [n.status, n.attempts, n.record_count]), [["sent", 1, 1], [
      "sent",
      1,
      1,
    ]]);
    // Nothing more on a second pass (the cursor moved).
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.received.length, 4);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("notifier retries, keeps order, fails after the last delay, then moves the subscription to error", async () => {
  const deps = await testDeps({
    outboundAllow: "127.0.0.1",
    callbackRetryDelaysMs: "1000,2000",
    subscriptionFailureLimit: "2",
  });
  const rx = startReceiver();
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    await putPerson(deps, person("p"));
    const code = await subscribeOne(deps, "s1", rx, {});
    rx.status = () => 503;
    for (const sex of ["male", "female", "other", "unknown"]) await putPerson(deps, person("p", { sex }));
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.hits, 1); // the first waits for its retry; the second is not tried before it
    deps.clock.advance(999);
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.hits, 1);
    deps.clock.advance(1);
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.hits, 2);
    deps.clock.advance(2000);
    await runNotifierOnce(deps, FIXED); // third attempt fails: notification 1 failed, then 2 is tried once
    assert.equal(rx.hits, 4);
    let log = (await deps.storage.notifications.list({ subscription: code })).reverse();
    assert.deepEqual(log.map((n) => n.status), ["failed", "pending", "pending", "pending"]);
    assert.equal(log[0].attempts, 3);
    assert.match(String(log[0].last_error), /HTTP 503/);
    deps.clock.advance(1000);
    await runNotifierOnce(deps, FIXED);
    deps.clock.advance(2000);
    await runNotifierOnce(deps, FIXED);
    assert.equal((await deps.storage.subscriptions.get(code))?.state, "error");
    const hits = rx.hits;
    deps.clock.advance(60_000);
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.hits, hits, "a subscription in error is not delivered to");
    // The operator reactivates it: the two that failed (nothing was delivered before them) are re-sent, then
    // the two that waited, in order.
    rx.status = () => 200;
    assert.equal(
      (await deps.storage.subscriptions.reactivate(code, new Date(deps.clock.now()).toISOString()))?.resent,
      2,
    );
    await runNotifierOnce(deps, FIXED);
    log = (await deps.storage.notifications.list({ subscription: code })).reverse();
    assert.deepEqual(log.map((n) => n.status), ["sent", "sent", "sent", "sent"]);
    assert.deepEqual(events(rx).map((d) => (d.reg_records as { sex: string }).sex), [
      "male",
      "female",
      "other",
      "unknown",
    ]);
    assert.equal((await deps.storage.subscriptions.get(code))?.consecutive_failures, 0);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("pending subscriptions get nothing until approved, and only events after approval", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    await addSender(deps, "s1", { name: "s1" });
    const code = await subscribeOne(deps, "s1", rx, { reg_event_type: "registration" });
    await putPerson(deps, person("a"));
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.received.length, 0);
    await deps.storage.subscriptions.approve(code, new Date(deps.clock.now()).toISOString());
    await putPerson(deps, person("b"));
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(events(rx).map((d) => (d.reg_records as { "@id": string })["@id"]), ["b"]);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("notifications.markReceived() marks only the caller's own notification received", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    await putPerson(deps, person("a"));
    await subscribeOne(deps, "s1", rx, {});
    await putPerson(deps, person("a", { sex: "male" }));
    await runNotifierOnce(deps, FIXED);
    const id = String(rx.received[0].headers.get("x-dci-notification-id"));
    const now = new Date(deps.clock.now()).toISOString();
    assert.deepEqual(await deps.storage.notifications.markReceived("s2", id, now), {
      ok: false,
      reason: "not_yours",
    });
    assert.deepEqual(await deps.storage.notifications.markReceived("s1", "nope", now), {
      ok: false,
      reason: "unknown",
    });
    const r = await deps.storage.notifications.markReceived("s1", id, now);
    assert.ok(r.ok && !r.already && r.row.status === "received");
    const again = await deps.storage.notifications.markReceived("s1", id, now);
    assert.ok(again.ok && again.already);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("a notification whose sent mark failed is sent again before anything newer (the lane stops)", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  const notifications = deps.storage.notifications;
  const markBatch = notifications.markBatch.bind(notifications);
  let failures = 1;
  // The storage fails the first sent mark (a full disk, say): the write the lane waits for rejects.
  notifications.markBatch = (rows, outcome, now) =>
    outcome.kind === "sent" && failures-- > 0
      ? Promise.reject(new Error("database or disk is full"))
      : markBatch(rows, outcome, now);
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    await putPerson(deps, person("p1"));
    await subscribeOne(deps, "s1", rx, { reg_event_type: "update" });
    for (const g of ["a", "b", "c"]) {
      await putPerson(deps, person("p1", { name: { given_name: g, surname: "Order" } }));
    }
    await runNotifierOnce(deps, FIXED);
    await runNotifierOnce(deps, FIXED);
    const names = events(rx).map((e) => (e.reg_records as { name: { given_name: string } }).name.given_name);
    assert.deepEqual(names, ["a", "a", "b", "c"]);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("expireSubscriptions() waits for fan-out to log the window's events, and for them to be sent", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    await putPerson(deps, person("p1"));
    await runNotifierOnce(deps, FIXED);
    const start = new Date(deps.clock.now()).toISOString();
    const end = new Date(deps.clock.now() + 60_000).toISOString();
    const code = await subscribeOne(deps, "s1", rx, {
      reg_event_type: "update",
      frequency: { start_time: start, end_time: end },
    });
    deps.clock.advance(30_000);
    await putPerson(deps, person("p1", { name: { given_name: "Inside", surname: "Window" } }));
    deps.clock.advance(40_000); // past the end: the update is not fanned out yet
    assert.equal(await expireSubscriptions(deps), 0, "the window's event is not logged yet");
    await fanOutAll(deps);
    assert.equal(await expireSubscriptions(deps), 0, "logged, not yet sent");
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.received.filter((r) => r.path.endsWith("/notify")).length, 1);
    assert.equal(await expireSubscriptions(deps), 0, "a minute's slack after the end (FANOUT_SLACK_MS)");
    deps.clock.advance(60_000);
    assert.equal(await expireSubscriptions(deps), 1);
    assert.equal((await deps.storage.subscriptions.get(code))?.state, "expired");
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("expireSubscriptions() ends subscriptions past their end time", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    const end = new Date(deps.clock.now() + 60_000).toISOString();
    const code = await subscribeOne(deps, "s1", rx, {
      frequency: { start_time: end.slice(0, 4) + "-01-01T00:00:00Z", end_time: end, frequency: "* * * * *" },
    });
    const keep = await subscribeOne(deps, "s1", rx, { reg_event_type: "delete" });
    assert.equal(await expireSubscriptions(deps), 0);
    // Past its end, with fan-out caught up, it stays live for a minute: an event of its window stamped before
    // the end (an import batch's, when the batch was prepared) may still be committed, and fan-out logs events
    // for live subscriptions only.
    deps.clock.advance(90_000);
    assert.equal(await expireSubscriptions(deps), 0);
    deps.clock.advance(30_000);
    assert.equal(await expireSubscriptions(deps), 1);
    assert.equal((await deps.storage.subscriptions.get(code))?.state, "expired");
    assert.equal((await deps.storage.subscriptions.get(keep))?.state, "active");
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("a backlog's first notifications go out while the rest of it is still being fanned out", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  let notifier: ReturnType<typeof startNotifier> | undefined;
  try {
    const SUBS = 10;
    for (let s = 0; s < SUBS; s++) {
      await addSender(deps, `b${s}`, { name: `b${s}`, auto_approve_subscriptions: true });
      await subscribeOne(deps, `b${s}`, rx, { reg_event_type: "update" });
    }
    // 20 batches of FANOUT_ROWS rows (about 1.4 s of fan-out here): far more than one pass's slice.
    const updates = (20 * FANOUT_ROWS) / SUBS;
    for (let k = 0; k < 5; k++) await putPerson(deps, person(`b${k}`));
    for (let k = 0; k < updates; k++) {
      await putPerson(deps, person(`b${k % 5}`, { name: { given_name: `S${k}`, surname: "Backlog" } }));
    }
    notifier = startNotifier(deps, FIXED);
    await rx.until((all) => all.length > 0);
    const cursorAtFirst = await deps.storage.fanOut.cursor();
    await notifier.stop();
    notifier = undefined;
    await fanOutAll(deps);
    const newest = await deps.storage.fanOut.cursor();
    // Before, a pass fanned out the whole backlog (here 20,000 rows) before it started any lane.
    assert.ok(cursorAtFirst < newest, `first delivery after the fan-out was done (cursor ${cursorAtFirst})`);
    const first = events(rx)[0].reg_records as { name?: { given_name?: string } };
    assert.equal(first.name?.given_name, "S0", "each lane starts with its oldest event");
  } finally {
    await notifier?.stop();
    await rx.close();
    deps.close();
  }
});
