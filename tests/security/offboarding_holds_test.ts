/**
 * Offboarding in one process, on the test database, a real outbound client and loopback receivers: a delivery that
 * already waits for an outbound slot re-checks its sender right before sending; disable and enable report the
 * held work and operator retries wait for enable; work of a sender deleted while it was being accepted is
 * cancelled when the worker or notifier meets it.
 */
import assert from "node:assert/strict";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { startBadReceiver } from "../faults/bad_receiver.ts";
import { input, person, putPerson, type Receiver, startReceiver, subItem } from "../subscriptions/helpers.ts";
import { eventually, recordOf } from "../subscriptions/e2e_support.ts";
import { searchMessage } from "../transactions/support.ts";
import { createApp } from "../helpers/app.ts";
import { createWorker as createTxnWorker } from "../../src/actions/worker.ts";
import { memoryQueue } from "../../src/jobs/queue.ts";
import { setSenderActive } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { sweepEndedNotifications } from "../../src/subscriptions/expiry.ts";

const FIXED = { random: () => 0.5 };

/** Deps with a memory queue, the app and worker, and alice subscribed to person updates at `rx`. */
async function subscribed(rx: Receiver, overrides: Record<string, string> = {}) {
  const deps = await testDeps({ outboundAllow: "127.0.0.1", ...overrides });
  deps.queue = memoryQueue(deps.clock);
  const app = createApp(deps);
  const worker = createTxnWorker(deps, FIXED);
  const alice = await createTestSender(deps, { auto_approve_subscriptions: true });
  await putPerson(deps, person("p1"));
  const item = subItem("r", { reg_event_type: "update", notify_record_type: "person" });
  const sub = await subscribeProcessor(
    deps,
    input(alice.senderId, { transaction_id: "t", subscribe_request: [item] }, rx.url),
  );
  const code = (sub.message.subscribe_response as Array<{ subscriptions: Array<{ code: string }> }>)[0]
    .subscriptions[0].code;
  return { deps, app, worker, alice, code };
}

/** Accepts an async search from `sender` (callback to `rx`); returns its correlation_id. */
async function acceptSearch(
  deps: TestDeps,
  app: ReturnType<typeof createApp>,
  sender: TestSender,
  rx: Receiver,
  txn: string,
): Promise<string> {
  const env = requestEnvelope(sender.senderId, searchMessage(txn), {
    nowMs: deps.clock.now(),
    totalCount: 1,
    header: { sender_uri: rx.url },
  });
  const ack = await app.request("/registry/search", {
    method: "POST",
    headers: { "content-type": "application/json", ...sender.headers() },
    body: JSON.stringify(sender.sign(env, deps.clock.now())),
  });
  assert.equal(ack.status, 202);
  return (await ack.json()).message.correlation_id;
}

Deno.test("offboarding: a callback and a notification waiting for an outbound slot check their sender right before sending", async () => {
  const rx = startReceiver();
  const busy = startBadReceiver((path) => path === "/hang" ? { kind: "hang" } : { kind: "ok" });
  const { deps, app, worker, alice, code } = await subscribed(rx, { outboundConcurrency: "1" });
  try {
    await putPerson(deps, person("p1", { sex: "male" }));
    const correlationId = await acceptSearch(deps, app, alice, rx, "slot");
    // The one outbound slot is held by a request that never gets an answer.
    const hung = deps.http.request(`${busy.url}/hang`, { method: "POST", body: "{}", timeoutMs: 60_000 })
      .catch(() => undefined);
    await eventually(() => busy.hits.get("/hang") === 1, "the hanging request");
    // Both deliveries are claimed and wait for the slot.
    const txnId = (await deps.storage.transactions.getByCorrelationId(correlationId))!.id;
    const handled = worker.handle(txnId);
    const lane = runNotifierOnce(deps, FIXED);
    await eventually(
      async () =>
        (await deps.storage.transactions.getByCorrelationId(correlationId))!.attempts === 1 &&
        (await deps.storage.subscriptions.get(code))!.lease_until !== null,
      "both deliveries claimed",
    );
    await setSenderActive(deps, alice.senderId, false);
    await busy.close(); // the slot comes free
    await Promise.all([hung, handled, lane]);
    assert.equal(rx.hits, 0, "nothing was sent to the disabled sender");
    const txn = (await deps.storage.transactions.getByCorrelationId(correlationId))!;
    assert.equal(txn.state, "succeeded");
    assert.equal(txn.attempts, 0, "a held delivery is not a spent attempt");
    assert.equal(txn.lease_owner, null);
    assert.deepEqual(
      (await deps.storage.notifications.list({ subscription: code })).map((n) => [n.status, n.attempts]),
      [[
        "pending",
        0,
      ]],
    );
    // Enabled again: both go out.
    await setSenderActive(deps, alice.senderId, true);
    await worker.handle(txnId);
    await runNotifierOnce(deps, FIXED);
    assert.equal((await deps.storage.transactions.getByCorrelationId(correlationId))!.state, "callback_sent");
    assert.deepEqual((await deps.storage.notifications.list({ subscription: code })).map((n) => n.status), [
      "sent",
    ]);
    assert.equal(rx.hits, 2);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("offboarding: disable and enable report the held work, and operator retries wait for enable", async () => {
  const rx = startReceiver();
  const { deps, app, alice, code } = await subscribed(rx);
  try {
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    const call = async (method: string, path: string) => {
      const res = await app.request(`/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{}",
      });
      return { status: res.status, body: await res.json() as Record<string, unknown> };
    };
    rx.status = () => 503;
    await putPerson(deps, person("p1", { sex: "male" }));
    await runNotifierOnce(deps, FIXED);
    deps.clock.advance(60 * 60_000);
    for (let i = 0; i < 4; i++) {
      await runNotifierOnce(deps, FIXED);
      deps.clock.advance(60 * 60_000);
    }
    const [failed] = await deps.storage.notifications.list({ subscription: code });
    assert.equal(failed.status, "failed");
    const hits = rx.hits;
    await putPerson(deps, person("p1", { sex: "female" })); // waits (pending) while alice is disabled
    const disabled = await call("POST", `/senders/${alice.senderId}/disable`);
    assert.equal(disabled.status, 200);
    assert.deepEqual(disabled.body.held, { subscriptions: 1, notifications: 0, transactions: 0 });
    // Operator retries are refused while the sender is disabled (its deliveries are held).
    const one = await call("POST", `/notifications/${failed.notification_id}/retry`);
    assert.equal(one.status, 409);
    assert.match(JSON.stringify(one.body), /disabled/);
    assert.equal((await call("POST", `/subscriptions/${code}/notifications/retry`)).status, 409);
    await runNotifierOnce(deps, FIXED); // fans the female update out: logged, held
    assert.equal(rx.hits, hits, "nothing is sent while disabled");
    const enabled = await call("POST", `/senders/${alice.senderId}/enable`);
    assert.equal(enabled.status, 200);
    assert.deepEqual(enabled.body.resumed, { subscriptions: 1, notifications: 1, transactions: 0 });
    rx.status = () => 200;
    assert.equal((await call("POST", `/notifications/${failed.notification_id}/retry`)).status, 202);
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(rx.received.map((r) => recordOf(r).sex), ["male", "female"]);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("offboarding: work of a sender deleted while it was being accepted is cancelled when met, unsent", async () => {
  const rx = startReceiver();
  const { deps, app, worker, alice, code } = await subscribed(rx);
  try {
    const correlationId = await acceptSearch(deps, app, alice, rx, "late");
    // The sender's own rows go, as if the delete had committed between accepting and storing this work.
    await deps.sql("DELETE FROM senders WHERE sender_id = ?", [alice.senderId]);
    await putPerson(deps, person("p1", { sex: "male" }));
    await runNotifierOnce(deps, FIXED);
    await worker.handle((await deps.storage.transactions.getByCorrelationId(correlationId))!.id);
    assert.equal(rx.hits, 0);
    const s = (await deps.storage.subscriptions.get(code))!;
    assert.equal(s.state, "cancelled");
    assert.match(String(s.last_error), /was deleted/);
    // Its waiting notification is never sent, and fails after the cancel (the sweep, with the reason).
    assert.deepEqual((await deps.storage.notifications.list({ subscription: code })).map((n) => n.status), [
      "pending",
    ]);
    assert.equal(await sweepEndedNotifications(deps), 1);
    assert.deepEqual(
      (await deps.storage.notifications.list({ subscription: code })).map((n) => [n.status, n.last_error]),
      [["failed", s.last_error]],
    );
    const t = (await deps.storage.transactions.getByCorrelationId(correlationId))!;
    assert.equal(t.state, "callback_failed");
    assert.match(String(t.last_error), /was deleted/);
  } finally {
    await rx.close();
    deps.close();
  }
});
