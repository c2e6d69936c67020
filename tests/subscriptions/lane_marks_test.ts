import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { addSender, type SenderInput } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { fanOutAll } from "../../src/subscriptions/fanout.ts";
import { countCalls } from "../helpers/call_counts.ts";
import { input, person, putPerson, type Receiver, startReceiver, subItem } from "./helpers.ts";

const FIXED = { random: () => 0.5 };

/**
 * Sender s1 (with `extra` settings) subscribed to updates of person p1 at `rx`, then `n` updates of p1 named
 * `${prefix}0`, `${prefix}1`, …: a backlog of n notifications (logged by the next fan-out). Returns the code.
 */
async function backlog(
  deps: TestDeps,
  rx: Receiver,
  n: number,
  prefix: string,
  extra: Omit<SenderInput, "name"> = {},
): Promise<string> {
  await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true, ...extra });
  await putPerson(deps, person("p1"));
  const r = await subscribeProcessor(
    deps,
    input(
      "s1",
      { transaction_id: "t", subscribe_request: [subItem("r", { reg_event_type: "update" })] },
      rx.url,
    ),
  );
  for (let k = 0; k < n; k++) {
    await putPerson(deps, person("p1", { name: { given_name: `${prefix}${k}`, surname: "L" } }));
  }
  return (r.message.subscribe_response as Array<{ subscriptions: Array<{ code: string }> }>)[0]
    .subscriptions[0]
    .code;
}

/** The given names the notifications `rx` received carry, in the order received. */
function givenNames(rx: Receiver): string[] {
  return rx.received.map((x) =>
    (x.body.message as { notify_event: Array<{ data: { reg_records: { name: { given_name: string } } } }> })
      .notify_event[0].data.reg_records.name.given_name
  );
}

Deno.test("runLane() sends a backlog once each, in order, all marked sent on return", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    const n = 40;
    const code = await backlog(deps, rx, n, "S");
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(givenNames(rx), Array.from({ length: n }, (_, k) => `S${k}`));
    // Every mark committed before the run returned: nothing pending, each sent after one attempt.
    assert.deepEqual((await deps.storage.notifications.counts()).map((c) => [c.status, c.n]), [["sent", n]]);
    const log = await deps.storage.notifications.list({ subscription: code, limit: 1000 });
    assert.ok(log.every((x) => x.attempts === 1 && x.sent_at !== null));
    // A second pass finds nothing to send again.
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.received.length, n);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("a lane reads its pending rows ahead, and the sender with its check: no reads of its own", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    // Outbound bearer authentication: its secret must come from the check's row too (and the callback URL its
    // origin is checked against: a credential goes only to the sender's registered origin).
    const n = 12;
    await backlog(deps, rx, n, "C", {
      outbound_auth: { type: "bearer", token: "tok-lane-1" },
      callback_base_url: rx.url,
    });
    const calls = new Map<string, number>();
    countCalls(deps.storage.lanes, "lanes", calls);
    countCalls(deps.storage.senders, "senders", calls);
    countCalls(deps.storage.notifications, "notifications", calls);
    await runNotifierOnce(deps, FIXED);
    assert.equal(rx.received.length, n);
    assert.ok(rx.received.every((x) => x.headers.get("authorization") === "Bearer tok-lane-1"));
    // Per notification: the check with the sender before building it, the hold right before connecting.
    assert.equal(calls.get("lanes.sendCheck"), n);
    assert.equal(calls.get("lanes.hold"), n);
    assert.equal(calls.get("senders.get"), undefined);
    // The pending rows read ahead in one query (then once more, finding none left).
    assert.equal(calls.get("notifications.pending"), 2);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("a row read ahead that stops being pending before its turn is skipped, the rest sent in order", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    const n = 8;
    const code = await backlog(deps, rx, n, "A");
    await fanOutAll(deps);
    const sub = (await deps.storage.subscriptions.get(code))!;
    const rows = await deps.storage.notifications.pending(sub.id, n);
    assert.equal(rows.length, n);
    // While the third is delivered (all eight already read ahead), someone else ends the fifth.
    rx.status = () => {
      if (rx.hits === 3) {
        rx.stall = deps.storage.notifications.markFailed(rows[4].n.id, { error: "cancelled by a test" }, T)
          .then(() => {});
      } else rx.stall = undefined;
      return 200;
    };
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(givenNames(rx), ["A0", "A1", "A2", "A3", "A5", "A6", "A7"]);
    assert.deepEqual(
      (await deps.storage.notifications.counts()).map((c) => [c.status, c.n]).sort(),
      [["failed", 1], ["sent", n - 1]],
    );
  } finally {
    await rx.close();
    deps.close();
  }
});

const T = "2026-06-01T00:00:00.000Z";

Deno.test("a lane whose send outlasted its lease, taken over meanwhile by another, stops after that send and leaves the other's lease", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    const code = await backlog(deps, rx, 5, "L");
    const sub = (await deps.storage.subscriptions.get(code))!;
    let other: string | undefined;
    // During the first send: the lease runs out, and another instance's lane claims the subscription.
    rx.status = () => {
      rx.stall ??= (async () => {
        deps.clock.advance(deps.config.leaseSeconds * 1000 + 1000);
        const now = deps.clock.now();
        other = new Date(now + deps.config.leaseSeconds * 1000).toISOString();
        assert.ok(await deps.storage.lanes.claim(sub.id, new Date(now).toISOString(), other));
      })();
      return 200;
    };
    await runNotifierOnce(deps, FIXED);
    // The send under way completed; nothing after it went out of the other lane's turn.
    assert.deepEqual(givenNames(rx), ["L0"]);
    assert.equal(
      (await deps.storage.subscriptions.getById(sub.id))!.lease_until,
      other,
      "the other's lease stands",
    );
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("a lane keeps its lease while a slow send is on the wire: another lane cannot claim it past the first lease", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1", leaseSeconds: "1" });
  const rx = startReceiver();
  try {
    const code = await backlog(deps, rx, 3, "K");
    const sub = (await deps.storage.subscriptions.get(code))!;
    let claimed: boolean | undefined;
    // During the first send, 1.2 lease lengths pass (by the clock), a renewal tick (every quarter) between.
    rx.status = () => {
      rx.stall ??= (async () => {
        deps.clock.advance(600);
        await new Promise((r) => setTimeout(r, 400));
        deps.clock.advance(600);
        const now = deps.clock.now();
        claimed = await deps.storage.lanes.claim(
          sub.id,
          new Date(now).toISOString(),
          new Date(now + 1000).toISOString(),
        );
      })();
      return 200;
    };
    await runNotifierOnce(deps, FIXED);
    assert.equal(claimed, false, "the lease was renewed while the send ran");
    assert.deepEqual(givenNames(rx), ["K0", "K1", "K2"]);
  } finally {
    await rx.close();
    deps.close();
  }
});
