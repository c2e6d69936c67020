/**
 * Offboarding is final (issue 11, item 4): disabling a sender holds its notifications and callbacks at once
 * (in every isolate, and for a delivery already waiting to go out) until it is enabled; deleting it cancels
 * them for good with the reason kept; a changed callback URL applies to what is still waiting. Real server,
 * real loopback receivers; a control sender on the same events is the barrier for "nothing arrived".
 */
import assert from "node:assert/strict";
import { createServerSender, type TestSender } from "../helpers/auth.ts";
import { runCliProcess, type ServerProcess } from "../helpers/server.ts";
import { type Receiver, startReceiver } from "../subscriptions/helpers.ts";
import {
  admin,
  eventually,
  notifiesOf,
  recordOf,
  send,
  startServer,
  subscribeVia,
  updates,
} from "../subscriptions/e2e_support.ts";
import { searchMessage } from "../transactions/support.ts";

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

/** Alice (under test) and carol (the control) subscribed to person updates, each at her own receiver. */
async function twoSenders(server: ServerProcess, rx: Receiver, ctl: Receiver) {
  const alice = await createServerSender(server, { auto_approve_subscriptions: true });
  const carol = await createServerSender(server, { auto_approve_subscriptions: true });
  await updates(server, "p1", ["male"]); // the registration, before anyone subscribes
  const a = (await subscribeVia(server, alice, rx, "a-sub", [UPDATES]))[0].subscriptions![0].code;
  const c = (await subscribeVia(server, carol, ctl, "c-sub", [UPDATES]))[0].subscriptions![0].code;
  return { alice, carol, a, c };
}

Deno.test("offboarding e2e: a disabled sender gets nothing from any isolate until enabled, then its held work in order", async () => {
  const rx = startReceiver();
  const ctl = startReceiver();
  const server = await startServer({
    DCI_HTTP_ISOLATES: "2",
    DCI_CALLBACK_RETRY_DELAYS_MS: "1000,1000,1000",
  });
  try {
    const { alice, carol, a, c } = await twoSenders(server, rx, ctl);
    await updates(server, "p1", ["female"]);
    await rx.until(() => notifiesOf(rx, a).length === 1);
    // A callback in its retry delay: alice's on-search fails once.
    const t = tap(rx);
    t.fail = (p) => p.endsWith("/on-search");
    const search = await send(server, alice, "/registry/search", searchMessage("a-search"), rx.url);
    assert.equal(search.status, 202);
    await eventually(() => t.seen.includes("/registry/on-search"), "alice's first callback attempt");
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
    const { alice, carol, a, c } = await twoSenders(server, rx, ctl);
    // A notification and a callback each waiting for their retry.
    const t = tap(rx);
    t.fail = () => true;
    await updates(server, "p1", ["female"]);
    const search = await send(server, alice, "/registry/search", searchMessage("a-search"), rx.url);
    await eventually(
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
    await eventually(
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
