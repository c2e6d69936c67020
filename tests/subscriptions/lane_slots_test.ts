/**
 * Notification lanes and outbound slots: lanes run at most the outbound caps at once (per destination, per sender,
 * in total) and wait for their turn before they claim anything, so a request's timeout is the receiver's time
 * only; a notification that found no free outbound slot in time is no attempt (nothing blamed on the receiver,
 * due again at once); a lane with a long backlog gives way to the others waiting for its slot.
 */
import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { type GatedReceiver, holdSlot, startGatedReceiver } from "../helpers/gated_receiver.ts";
import { addSender } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { input, person, putPerson, subItem } from "./helpers.ts";

const FIXED = { random: () => 0.5 };

/** Sender `id` (auto-approved) subscribed to person updates at `url`; returns the subscription's code. */
async function subscribe(deps: TestDeps, id: string, url: string): Promise<string> {
  await addSender(deps, id, { name: id, auto_approve_subscriptions: true });
  const r = await subscribeProcessor(
    deps,
    input(id, { transaction_id: "t", subscribe_request: [subItem("r", {})] }, url),
  );
  return (r.message.subscribe_response as Array<{ subscriptions: Array<{ code: string }> }>)[0]
    .subscriptions[0]
    .code;
}

/** Updates person p1 once per given name (p1 must exist). */
async function updates(deps: TestDeps, names: string[]): Promise<void> {
  for (const name of names) await putPerson(deps, person("p1", { name: { given_name: name, surname: "L" } }));
}

/** The given names each receiver (sender) was notified of, in the order they arrived. */
function namesBySender(rx: GatedReceiver): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const d of rx.delivered) {
    const body = d.body as {
      header: { receiver_id: string };
      message: { notify_event: Array<{ data: { reg_records: { name: { given_name: string } } } }> };
    };
    const names = out.get(body.header.receiver_id) ?? [];
    names.push(body.message.notify_event[0].data.reg_records.name.given_name);
    out.set(body.header.receiver_id, names);
  }
  return out;
}

/** Counts the lanes holding their lease at once (claimed, not yet released); `peak()` is the most seen. */
function laneCounter(deps: TestDeps): { peak(): number } {
  const lanes = deps.storage.lanes;
  const claim = lanes.claim.bind(lanes);
  const release = lanes.release.bind(lanes);
  let now = 0, peak = 0;
  lanes.claim = async (...args) => {
    const ok = await claim(...args);
    if (ok) peak = Math.max(peak, ++now);
    return ok;
  };
  lanes.release = async (...args) => {
    now--;
    return await release(...args);
  };
  return { peak: () => peak };
}

Deno.test("notifier: lanes of many subscriptions to one slow receiver wait for their turn, not on the receiver's clock: each notification sent once, in order, none timed out", async () => {
  // Twelve lanes of two notifications, one request at a time to the receiver, 150 ms each: the last ones go out
  // well past 1500 ms after the first, but each is on the wire for 150 ms of its 1500.
  const deps = await testDeps({
    outboundAllow: "127.0.0.1",
    outboundPerDestination: "1",
    outboundTimeoutMs: "1500",
  });
  const rx = startGatedReceiver({ delayMs: 150 });
  try {
    const senders = Array.from({ length: 12 }, (_, i) => `s${i}`);
    for (const s of senders) await subscribe(deps, s, rx.url);
    await putPerson(deps, person("p1"));
    await updates(deps, ["A", "B"]);
    const lanes = laneCounter(deps);
    await runNotifierOnce(deps, FIXED);
    const log = await deps.storage.notifications.list({ limit: 100 });
    assert.equal(log.length, 24);
    assert.deepEqual(
      log.filter((n) => n.status !== "sent" || n.attempts !== 1 || n.last_error !== null)
        .map((n) => [n.sender_id, n.status, n.attempts, n.last_error]),
      [],
      "every notification sent at its first attempt",
    );
    // Each once (no re-send of one the receiver had), in event order per subscription.
    assert.equal(new Set(rx.delivered.map((d) => d.id)).size, 24);
    assert.equal(rx.delivered.length, 24);
    const names = namesBySender(rx);
    for (const s of senders) assert.deepEqual(names.get(s), ["A", "B"], s);
    assert.equal(lanes.peak(), 1, "one lane at a time for the one destination");
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("notifier: a notification that found no free outbound slot in time is no attempt: pending, nothing blamed on the receiver, sent once when a slot frees", async () => {
  const deps = await testDeps({
    outboundAllow: "127.0.0.1",
    outboundPerDestination: "1",
    // The slot's wait as long as the delivery's once it frees (a loaded machine's loopback round trip included).
    outboundTimeoutMs: "3000",
  });
  const rx = startGatedReceiver();
  try {
    const code = await subscribe(deps, "s1", rx.url);
    await putPerson(deps, person("p1"));
    await updates(deps, ["A"]);
    // Another request (a callback, a JWKS fetch) holds the destination's one outbound slot.
    const hung = (await holdSlot(deps.http, rx)).done;
    assert.equal(await runNotifierOnce(deps, FIXED), 0);
    const [waited] = await deps.storage.notifications.list({ subscription: code });
    assert.deepEqual([waited.status, waited.attempts, waited.last_error], ["pending", 0, null]);
    assert.ok(waited.next_attempt_at <= new Date(deps.clock.now()).toISOString(), "due again at once");
    const sub = (await deps.storage.subscriptions.get(code))!;
    assert.deepEqual([sub.state, sub.consecutive_failures, sub.lease_until], ["active", 0, null]);
    assert.equal(rx.delivered.length, 0);
    rx.open();
    assert.equal(await hung, 200);
    assert.equal(await runNotifierOnce(deps, FIXED), 1);
    const [sent] = await deps.storage.notifications.list({ subscription: code });
    assert.deepEqual([sent.status, sent.attempts, sent.last_error], ["sent", 1, null]);
    assert.deepEqual(namesBySender(rx).get("s1"), ["A"]);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("notifier: a lane with a long backlog gives way after a read-ahead to another lane waiting for its destination", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1", outboundPerDestination: "1" });
  const rx = startGatedReceiver();
  try {
    await subscribe(deps, "long", rx.url);
    await putPerson(deps, person("p1"));
    const backlog = Array.from({ length: 40 }, (_, k) => `L${k}`);
    await updates(deps, backlog.slice(0, 39));
    await subscribe(deps, "short", rx.url);
    await updates(deps, backlog.slice(39));
    await runNotifierOnce(deps, FIXED);
    const names = namesBySender(rx);
    assert.deepEqual(names.get("long"), backlog);
    assert.deepEqual(names.get("short"), ["L39"]);
    // The short lane goes first, or after the long one's first read-ahead (32 rows): never behind all of it.
    const before = rx.delivered.findIndex((d) =>
      (d.body.header as { receiver_id: string }).receiver_id === "short"
    );
    assert.ok(before === 0 || before === 32, `the short lane's notification arrived after ${before} others`);
    assert.deepEqual((await deps.storage.notifications.counts()).map((c) => [c.status, c.n]), [["sent", 41]]);
  } finally {
    await rx.close();
    deps.close();
  }
});
