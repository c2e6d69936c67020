/** An operator's re-send of a notification that failed in a sealed batch (a subscription with a cron frequency). */
import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { addSender } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { fanOutAll } from "../../src/subscriptions/fanout.ts";
import { isoNow } from "../../src/clock.ts";
import { input, person, putPerson, type Receiver, startReceiver, subItem } from "./helpers.ts";

const FIXED = { random: () => 0.5 };
const T0 = Date.parse("2026-03-02T10:00:10Z");
const ELEVEN = Date.parse("2026-03-02T11:00:00Z");

/** An hourly subscription of sender s1 (auto-approved) to changes of p1; its code. */
async function subscribe(deps: TestDeps, rx: Receiver): Promise<string> {
  await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
  await putPerson(deps, person("p1"));
  const at = (ms: number) => new Date(ms).toISOString();
  const frequency = { start_time: at(T0), end_time: at(T0 + 86_400_000), frequency: "0 0 * * * ? *" };
  const r = await subscribeProcessor(
    deps,
    input("s1", { transaction_id: "t", subscribe_request: [subItem("r", { frequency })] }, rx.url),
  );
  return (r.message.subscribe_response as Array<{ subscriptions: Array<{ code: string }> }>)[0]
    .subscriptions[0]
    .code;
}

async function change(deps: TestDeps, marker: string): Promise<void> {
  await putPerson(deps, person("p1", { name: { given_name: marker, surname: "Tester" } }));
}

/** The subscription's notifications, oldest first. */
async function rowsOf(deps: TestDeps, code: string) {
  return (await deps.storage.notifications.list({ subscription: code })).sort((a, b) => a.id - b.id);
}

/** Each notify received: its header.message_id and its events' markers (given names). */
function notifies(rx: Receiver): Array<[string, string[]]> {
  return rx.received.filter((r) => r.path.endsWith("/notify")).map((r) => [
    (r.body.header as { message_id: string }).message_id,
    (r.body.message as { notify_event: Array<{ data: { reg_records: { name: { given_name: string } } } }> })
      .notify_event.map((e) => e.data.reg_records.name.given_name),
  ]);
}

Deno.test("retry of one member of a failed batch (admin API) re-sends the whole batch under its message_id, newer events after it", async () => {
  // One retry 60 s after the first attempt, then the batch fails.
  const deps = await testDeps({ outboundAllow: "127.0.0.1", callbackRetryDelaysMs: "60000" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  const app = createApp(deps);
  const admin = await deps.storage.adminTokens.create({ role: "admin", name: "ops" });
  try {
    const code = await subscribe(deps, rx);
    for (const m of ["a", "b", "c"]) await change(deps, m);
    deps.clock.advance(ELEVEN - deps.clock.now());
    rx.status = () => 503;
    await runNotifierOnce(deps, FIXED);
    deps.clock.advance(120_000);
    await runNotifierOnce(deps, FIXED);
    const failed = await rowsOf(deps, code);
    const head = failed[0].notification_id;
    assert.deepEqual(failed.map((n) => [n.status, n.message_id]), [
      ["failed", head],
      ["failed", head],
      ["failed", head],
    ]);
    // An event falls due while the batch stays failed; the operator re-sends its second member only.
    rx.status = () => 200;
    rx.received.length = 0;
    await change(deps, "d");
    await fanOutAll(deps);
    deps.clock.advance(3_600_000);
    const res = await app.request(`/admin/v1/notifications/${failed[1].notification_id}/retry`, {
      method: "POST",
      headers: { authorization: `Bearer ${admin.token}`, "content-type": "application/json" },
      body: "{}",
    });
    assert.equal(res.status, 202);
    const body = await res.json() as { status: string; message_id: string };
    assert.deepEqual([body.status, body.message_id], ["pending", head]);
    assert.deepEqual((await rowsOf(deps, code)).map((n) => [n.status, n.attempts]), [
      ["pending", 0],
      ["pending", 0],
      ["pending", 0],
      ["pending", 0],
    ]);
    await runNotifierOnce(deps, FIXED);
    assert.deepEqual(notifies(rx), [[head, ["a", "b", "c"]], [(await rowsOf(deps, code))[3].notification_id, [
      "d",
    ]]]);
    assert.deepEqual((await rowsOf(deps, code)).map((n) => [n.status, n.message_id === head]), [
      ["sent", true],
      ["sent", true],
      ["sent", true],
      ["sent", false],
    ]);
  } finally {
    deps.close();
    await rx.close();
  }
});

Deno.test("batchOf() never seals a lone re-sent member of a sealed batch with newer rows", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" }, { now: T0 });
  const rx = startReceiver({ registry: "social" });
  try {
    const code = await subscribe(deps, rx);
    for (const m of ["a", "b", "c"]) await change(deps, m);
    await fanOutAll(deps);
    deps.clock.advance(ELEVEN - deps.clock.now());
    const [a] = await rowsOf(deps, code);
    const sealed = await deps.storage.notifications.batchOf(a, {
      now: isoNow(deps.clock),
      max: 50,
      maxBytes: 1 << 20,
    });
    assert.equal(sealed.length, 3);
    // Only its second member failed (the others were received); it is re-sent, and a newer event is due.
    await deps.sql("UPDATE notifications SET status = 'received' WHERE id IN (?, ?)", [
      sealed[0].id,
      sealed[2].id,
    ]);
    await deps.sql("UPDATE notifications SET status = 'failed', attempts = 2 WHERE id = ?", [sealed[1].id]);
    await change(deps, "d");
    await fanOutAll(deps);
    deps.clock.advance(3_600_000);
    assert.equal(await deps.storage.notifications.reopenFailed({ id: sealed[1].id }, isoNow(deps.clock)), 1);
    const [, b, , d] = await rowsOf(deps, code);
    const again = await deps.storage.notifications.batchOf(b, {
      now: isoNow(deps.clock),
      max: 50,
      maxBytes: 1 << 20,
    });
    assert.deepEqual(again.map((r) => [r.id, r.message_id]), [[b.id, a.notification_id]]);
    const [, , , d2] = await rowsOf(deps, code);
    assert.equal(d2.message_id, d.message_id, "the newer row is not sealed with it");
  } finally {
    deps.close();
    await rx.close();
  }
});
