/**
 * Offboarding is final (issue 11, item 4): disabling a sender holds its notifications and callbacks at once
 * (in every isolate, and for a delivery already waiting to go out) until it is enabled; deleting it cancels
 * them for good with the reason kept; a changed callback URL applies to what is still waiting. Real server,
 * real loopback receivers; a control sender on the same events is the barrier for "nothing arrived".
 */
import assert from "node:assert/strict";
import { createServerSender, createTestSender, type TestSender } from "../helpers/auth.ts";
import { runCliProcess } from "../helpers/server.ts";
import { testDeps } from "../helpers/deps.ts";
import { type Receiver, startReceiver } from "../subscriptions/helpers.ts";
import {
  admin,
  notifiesOf,
  recordOf,
  send,
  startServer,
  subscribeVia,
  updates,
} from "../subscriptions/e2e_support.ts";
import { searchMessage } from "../transactions/support.ts";
import { createApp } from "../../src/app.ts";
import { createTxnWorker } from "../../src/transactions/worker.ts";
import { getByCorrelationId } from "../../src/transactions/store.ts";
import { memoryQueue } from "../../src/jobs/queue.ts";
import { removeSender, setSenderActive } from "../../src/senders/store.ts";
import { createAdminToken } from "../../src/admin/tokens.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { getSubscription } from "../../src/subscriptions/store.ts";
import { listNotifications } from "../../src/subscriptions/notifications.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { startBadReceiver } from "../faults/bad_receiver.ts";
import { input, person, putPerson, subItem } from "../subscriptions/helpers.ts";

const UPDATES = { reg_event_type: "update", notify_record_type: "person" };

/** Every request path a receiver got, in order, whatever it answered; `fail` says which paths answer 503. */
function tap(rx: Receiver): { seen: string[]; fail: (path: string) => boolean } {
  const t = { seen: [] as string[], fail: (_path: string) => false };
  rx.status = (r) => {
    t.seen.push(r.path);
    return t.fail(r.path) ? 503 : 200;
  };
  return t;
}

async function until(pred: () => boolean | Promise<boolean>, what: string, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`not within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

const corrOf = (ack: { body: Record<string, unknown> }) =>
  (ack.body.message as { correlation_id: string }).correlation_id;
const onSearch = (rx: Receiver, txn: string) =>
  rx.received.some((r) =>
    r.path.endsWith("/on-search") && (r.body.message as { transaction_id?: string }).transaction_id === txn
  );

/**
 * The barrier: the control sender `carol` gets the same events' notifications, and a callback whose first
 * attempt fails and whose retry is due after anything `alice` had waiting. Once it all arrived, whatever the
 * server would have sent alice has been sent.
 */
async function controlBarrier(
  server: { url: string },
  carol: TestSender,
  ctl: Receiver,
  code: string,
  notifications: number,
  txn: string,
): Promise<void> {
  const t = tap(ctl);
  t.fail = (p) => p.endsWith("/on-search") && t.seen.filter((s) => s.endsWith("/on-search")).length === 1;
  assert.equal((await send(server, carol, "/registry/search", searchMessage(txn), ctl.url)).status, 202);
  await ctl.until(() => notifiesOf(ctl, code).length === notifications && onSearch(ctl, txn), 30_000);
}

Deno.test("offboarding e2e: a disabled sender gets nothing from any isolate until enabled, then its held work in order", async () => {
  const rx = startReceiver();
  const ctl = startReceiver();
  const server = await startServer({
    DCI_HTTP_ISOLATES: "2",
    DCI_CALLBACK_RETRY_DELAYS_MS: "1000,1000,1000",
  });
  try {
    const alice = await createServerSender(server, { auto_approve_subscriptions: true });
    const carol = await createServerSender(server, { auto_approve_subscriptions: true });
    await updates(server, "p1", ["male"]); // the registration, before anyone subscribes
    const a = (await subscribeVia(server, alice, rx, "a-sub", [UPDATES]))[0].subscriptions![0].code;
    const c = (await subscribeVia(server, carol, ctl, "c-sub", [UPDATES]))[0].subscriptions![0].code;
    await updates(server, "p1", ["female"]);
    await rx.until(() => notifiesOf(rx, a).length === 1);
    // A callback in its retry delay: alice's on-search fails once.
    const t = tap(rx);
    t.fail = (p) => p.endsWith("/on-search");
    const search = await send(server, alice, "/registry/search", searchMessage("a-search"), rx.url);
    assert.equal(search.status, 202);
    await until(() => t.seen.includes("/registry/on-search"), "alice's first callback attempt");
    // Disabled through the admin API (an HTTP isolate); the worker and notifier run in the main isolate.
    const disabled = await admin(server, "POST", `/senders/${alice.senderId}/disable`);
    assert.equal(disabled.status, 200);
    assert.equal(disabled.body.active, false);
    const mark = t.seen.length;
    t.fail = () => false;
    await updates(server, "p1", ["other", "unknown"]);
    await controlBarrier(server, carol, ctl, c, 3, "c-search-1");
    assert.deepEqual(t.seen.slice(mark), [], "nothing reaches a disabled sender");
    const held = await admin(server, "GET", `/notifications?subscription=${a}&status=pending`);
    assert.equal((held.body.items as unknown[]).length, 2);
    assert.equal((await admin(server, "GET", `/transactions/${corrOf(search)}`)).body.state, "succeeded");
    // Enabled from the CLI (another process): held notifications go out in order, the callback follows.
    const cli = await runCliProcess(["sender", "enable", alice.senderId], { DCI_DATA_DIR: server.dataDir });
    assert.equal(cli.code, 0, cli.stderr);
    await rx.until(() => notifiesOf(rx, a).length === 3 && onSearch(rx, "a-search"), 30_000);
    assert.deepEqual(notifiesOf(rx, a).map((r) => recordOf(r).sex), ["female", "other", "unknown"]);
  } finally {
    await server.stop();
    await rx.close();
    await ctl.close();
  }
});

Deno.test("offboarding e2e: deleting a sender cancels its subscriptions, notifications and callbacks for good", async () => {
  const rx = startReceiver();
  const ctl = startReceiver();
  // Retries far enough apart that the CLI (a process start) removes the sender before they run out.
  const server = await startServer({ DCI_CALLBACK_RETRY_DELAYS_MS: "3000,3000,3000" });
  try {
    const alice = await createServerSender(server, { auto_approve_subscriptions: true });
    const carol = await createServerSender(server, { auto_approve_subscriptions: true });
    await updates(server, "p1", ["male"]);
    const a = (await subscribeVia(server, alice, rx, "a-sub", [UPDATES]))[0].subscriptions![0].code;
    const c = (await subscribeVia(server, carol, ctl, "c-sub", [UPDATES]))[0].subscriptions![0].code;
    // A notification and a callback each waiting for their retry.
    const t = tap(rx);
    t.fail = () => true;
    await updates(server, "p1", ["female"]);
    const search = await send(server, alice, "/registry/search", searchMessage("a-search"), rx.url);
    await until(
      () => t.seen.includes("/registry/notify") && t.seen.includes("/registry/on-search"),
      "alice's first attempts",
    );
    // Removed with the CLI while the server runs.
    const cli = await runCliProcess(["sender", "remove", alice.senderId], { DCI_DATA_DIR: server.dataDir });
    assert.equal(cli.code, 0, cli.stderr);
    const mark = t.seen.length;
    t.fail = () => false;
    await updates(server, "p1", ["other"]);
    await controlBarrier(server, carol, ctl, c, 2, "c-search-1");
    assert.deepEqual(t.seen.slice(mark), [], "nothing reaches a deleted sender");
    assert.match(cli.stdout, /cancelled 1 subscription\(s\), 1 notification\(s\), 1 transaction\(s\)/);
    // The state is recorded with the reason.
    const sub = (await admin(server, "GET", `/subscriptions/${a}`)).body;
    assert.equal(sub.state, "cancelled");
    assert.equal(sub.cancelled_by, "sender-deleted");
    assert.match(String(sub.last_error), /deleted/);
    const notes = (await admin(server, "GET", `/notifications?subscription=${a}`)).body.items as Array<
      Record<string, unknown>
    >;
    assert.deepEqual(notes.map((n) => n.status), ["failed"]);
    assert.match(String(notes[0].last_error), /sender .* was deleted/);
    const txn = (await admin(server, "GET", `/transactions/${corrOf(search)}`)).body;
    assert.equal(txn.state, "callback_failed");
    assert.match(String(txn.last_error), /sender .* was deleted/);
    // For good: the same id registered again gets none of it, and an operator retry is refused.
    const again = await runCliProcess(["sender", "add", alice.senderId], { DCI_DATA_DIR: server.dataDir });
    assert.equal(again.code, 0, again.stderr);
    await updates(server, "p1", ["unknown"]);
    await controlBarrier(server, carol, ctl, c, 3, "c-search-2");
    assert.deepEqual(t.seen.slice(mark), []);
    assert.equal((await admin(server, "POST", `/transactions/${corrOf(search)}/retry`)).status, 409);
    assert.equal((await admin(server, "POST", `/subscriptions/${a}/notifications/retry`)).status, 409);
  } finally {
    await server.stop();
    await rx.close();
    await ctl.close();
  }
});

Deno.test("offboarding e2e: a changed callback URL applies to waiting callbacks and notifications, and to later ones", async () => {
  const rxA = startReceiver();
  const rxB = startReceiver();
  const server = await startServer({ DCI_CALLBACK_RETRY_DELAYS_MS: "2000,2000,2000" });
  try {
    const alice = await createServerSender(server, {
      auto_approve_subscriptions: true,
      callback_base_url: rxA.url,
    });
    await updates(server, "p1", ["male"]);
    const a = (await subscribeVia(server, alice, rxA, "a-sub", [UPDATES]))[0].subscriptions![0].code;
    const t = tap(rxA);
    t.fail = () => true;
    await updates(server, "p1", ["female"]);
    const search = await send(server, alice, "/registry/search", searchMessage("a-search"), rxA.url);
    await until(
      () => t.seen.includes("/registry/notify") && t.seen.includes("/registry/on-search"),
      "the first attempts to the old URL",
    );
    const mark = t.seen.length;
    const patched = await admin(server, "PATCH", `/senders/${alice.senderId}`, {
      callback_base_url: rxB.url,
    });
    assert.equal(patched.status, 200);
    await rxB.until(() => notifiesOf(rxB, a).length === 1 && onSearch(rxB, "a-search"), 30_000);
    await updates(server, "p1", ["other"]);
    await rxB.until(() => notifiesOf(rxB, a).length === 2);
    assert.deepEqual(notifiesOf(rxB, a).map((r) => recordOf(r).sex), ["female", "other"]);
    assert.deepEqual(t.seen.slice(mark), [], "the old URL gets nothing after the change");
    // The records show where deliveries go now.
    assert.ok(
      String((await admin(server, "GET", `/subscriptions/${a}`)).body.callback_url).startsWith(rxB.url),
    );
    assert.ok(
      String((await admin(server, "GET", `/transactions/${corrOf(search)}`)).body.callback_url).startsWith(
        rxB.url,
      ),
    );
  } finally {
    await server.stop();
    await rxA.close();
    await rxB.close();
  }
});

Deno.test("offboarding: a callback and a notification waiting for an outbound slot check their sender right before sending", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1", outboundConcurrency: "1" });
  const rx = startReceiver();
  const busy = startBadReceiver((path) => path === "/hang" ? { kind: "hang" } : { kind: "ok" });
  try {
    const queue = memoryQueue(deps.clock);
    deps.queue = queue;
    const app = createApp(deps);
    const worker = createTxnWorker(deps, { random: () => 0.5 });
    const alice = await createTestSender(deps, { auto_approve_subscriptions: true });
    putPerson(deps, person("p1"));
    const sub = await subscribeProcessor(
      deps,
      input(alice.senderId, { transaction_id: "t", subscribe_request: [subItem("r", UPDATES)] }, rx.url),
    );
    const code = (sub.message.subscribe_response as Array<{ subscriptions: Array<{ code: string }> }>)[0]
      .subscriptions[0].code;
    putPerson(deps, person("p1", { sex: "male" }));
    const env = requestEnvelope(alice.senderId, searchMessage("slot"), {
      nowMs: deps.clock.now(),
      totalCount: 1,
      header: { sender_uri: rx.url },
    });
    const ack = await app.request("/registry/search", {
      method: "POST",
      headers: { "content-type": "application/json", ...alice.headers() },
      body: JSON.stringify(alice.sign(env, deps.clock.now())),
    });
    assert.equal(ack.status, 202);
    const correlationId = (await ack.json()).message.correlation_id;
    // The one outbound slot is held by a request that never gets an answer.
    const hung = deps.http.request(`${busy.url}/hang`, { method: "POST", body: "{}", timeoutMs: 60_000 })
      .catch(() => undefined);
    await until(() => busy.hits.get("/hang") === 1, "the hanging request");
    // Both deliveries are claimed and wait for the slot.
    const txnId = getByCorrelationId(deps.db, correlationId)!.id;
    const handled = worker.handle(txnId);
    const lane = runNotifierOnce(deps, { random: () => 0.5 });
    await until(
      () =>
        getByCorrelationId(deps.db, correlationId)!.attempts === 1 &&
        getSubscription(deps.db, code)!.lease_until !== null,
      "both deliveries claimed",
    );
    setSenderActive(deps, alice.senderId, false);
    await busy.close(); // the slot comes free
    await Promise.all([hung, handled, lane]);
    assert.equal(rx.hits, 0, "nothing was sent to the disabled sender");
    const txn = getByCorrelationId(deps.db, correlationId)!;
    assert.equal(txn.state, "succeeded");
    assert.equal(txn.attempts, 0, "a held delivery is not a spent attempt");
    assert.equal(txn.lease_owner, null);
    assert.deepEqual(listNotifications(deps.db, { subscription: code }).map((n) => [n.status, n.attempts]), [[
      "pending",
      0,
    ]]);
    // Enabled again: both go out.
    setSenderActive(deps, alice.senderId, true);
    await worker.handle(txnId);
    await runNotifierOnce(deps, { random: () => 0.5 });
    assert.equal(getByCorrelationId(deps.db, correlationId)!.state, "callback_sent");
    assert.deepEqual(listNotifications(deps.db, { subscription: code }).map((n) => n.status), ["sent"]);
    assert.equal(rx.hits, 2);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("offboarding: disable and enable report the held work, and operator retries wait for enable", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    const app = createApp(deps);
    const { token } = await createAdminToken(deps.db, { role: "admin" });
    const call = async (method: string, path: string) => {
      const res = await app.request(`/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: "{}",
      });
      return { status: res.status, body: await res.json() as Record<string, unknown> };
    };
    const alice = await createTestSender(deps, { auto_approve_subscriptions: true });
    putPerson(deps, person("p1"));
    const sub = await subscribeProcessor(
      deps,
      input(alice.senderId, { transaction_id: "t", subscribe_request: [subItem("r", UPDATES)] }, rx.url),
    );
    const code = (sub.message.subscribe_response as Array<{ subscriptions: Array<{ code: string }> }>)[0]
      .subscriptions[0].code;
    rx.status = () => 503;
    putPerson(deps, person("p1", { sex: "male" }));
    await runNotifierOnce(deps, { random: () => 0.5 });
    deps.clock.advance(60 * 60_000);
    for (let i = 0; i < 4; i++) {
      await runNotifierOnce(deps, { random: () => 0.5 });
      deps.clock.advance(60 * 60_000);
    }
    const [failed] = listNotifications(deps.db, { subscription: code });
    assert.equal(failed.status, "failed");
    const hits = rx.hits;
    putPerson(deps, person("p1", { sex: "female" })); // waits (pending) while alice is disabled
    const disabled = await call("POST", `/senders/${alice.senderId}/disable`);
    assert.equal(disabled.status, 200);
    assert.deepEqual(disabled.body.held, { subscriptions: 1, notifications: 0, transactions: 0 });
    // Operator retries are refused while the sender is disabled (its deliveries are held).
    const one = await call("POST", `/notifications/${failed.notification_id}/retry`);
    assert.equal(one.status, 409);
    assert.match(JSON.stringify(one.body), /disabled/);
    assert.equal((await call("POST", `/subscriptions/${code}/notifications/retry`)).status, 409);
    await runNotifierOnce(deps, { random: () => 0.5 }); // fans the female update out: logged, held
    assert.equal(rx.hits, hits, "nothing is sent while disabled");
    const enabled = await call("POST", `/senders/${alice.senderId}/enable`);
    assert.equal(enabled.status, 200);
    assert.deepEqual(enabled.body.resumed, { subscriptions: 1, notifications: 1, transactions: 0 });
    rx.status = () => 200;
    assert.equal((await call("POST", `/notifications/${failed.notification_id}/retry`)).status, 202);
    await runNotifierOnce(deps, { random: () => 0.5 });
    assert.deepEqual(rx.received.map((r) => recordOf(r).sex), ["male", "female"]);
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("offboarding: work of a sender deleted while it was being accepted is cancelled when met, unsent", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver();
  try {
    deps.queue = memoryQueue(deps.clock);
    const app = createApp(deps);
    const worker = createTxnWorker(deps, { random: () => 0.5 });
    const alice = await createTestSender(deps, { auto_approve_subscriptions: true });
    putPerson(deps, person("p1"));
    const sub = await subscribeProcessor(
      deps,
      input(alice.senderId, { transaction_id: "t", subscribe_request: [subItem("r", UPDATES)] }, rx.url),
    );
    const code = (sub.message.subscribe_response as Array<{ subscriptions: Array<{ code: string }> }>)[0]
      .subscriptions[0].code;
    const env = requestEnvelope(alice.senderId, searchMessage("late"), {
      nowMs: deps.clock.now(),
      totalCount: 1,
      header: { sender_uri: rx.url },
    });
    const ack = await app.request("/registry/search", {
      method: "POST",
      headers: { "content-type": "application/json", ...alice.headers() },
      body: JSON.stringify(alice.sign(env, deps.clock.now())),
    });
    const correlationId = (await ack.json()).message.correlation_id;
    // The sender's own rows go, as if the delete had committed between accepting and storing this work.
    removeSender(deps, alice.senderId);
    putPerson(deps, person("p1", { sex: "male" }));
    await runNotifierOnce(deps, { random: () => 0.5 });
    await worker.handle(getByCorrelationId(deps.db, correlationId)!.id);
    assert.equal(rx.hits, 0);
    const s = getSubscription(deps.db, code)!;
    assert.equal(s.state, "cancelled");
    assert.match(String(s.last_error), /was deleted/);
    assert.deepEqual(listNotifications(deps.db, { subscription: code }).map((n) => n.status), ["failed"]);
    const t = getByCorrelationId(deps.db, correlationId)!;
    assert.equal(t.state, "callback_failed");
    assert.match(String(t.last_error), /was deleted/);
  } finally {
    await rx.close();
    deps.close();
  }
});
