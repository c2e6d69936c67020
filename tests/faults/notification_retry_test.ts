/**
 * Notification retry (issue 11, item 20): a notification that finally failed is re-sent when its subscription
 * is reactivated (the ones since the last delivered, in order, before those still waiting), and an operator
 * can re-send failed notifications by id (admin API) or by subscription (CLI). Real server, real receiver.
 */
import assert from "node:assert/strict";
import { createServerSender } from "../helpers/auth.ts";
import { runCliProcess } from "../helpers/server.ts";
import { type Receiver, startReceiver } from "../subscriptions/helpers.ts";
import {
  admin,
  eventually,
  notifiesOf,
  recordOf,
  startServer,
  subscribeVia,
  updates,
} from "../subscriptions/e2e_support.ts";

const UPDATES = { reg_event_type: "update", notify_record_type: "person" };

type Note = { notification_id: string; status: string; attempts: number; event_id: number };

async function log(server: { url: string }, code: string, status?: string): Promise<Note[]> {
  const q = status ? `&status=${status}` : "";
  const r = await admin(server, "GET", `/notifications?subscription=${code}${q}&limit=500`);
  return (r.body.items as Note[]).slice().reverse(); // oldest first
}

/** A server failing a subscription after `failureLimit` failed notifications, and alice subscribed at `rx`. */
async function subscribedServer(rx: Receiver, failureLimit: number) {
  const server = await startServer({
    DCI_SUBSCRIPTION_FAILURE_LIMIT: String(failureLimit),
    DCI_CALLBACK_RETRY_DELAYS_MS: "50",
  });
  const alice = await createServerSender(server, { auto_approve_subscriptions: true });
  await updates(server, "q1", ["male"]); // the registration, before subscribing
  const code = (await subscribeVia(server, alice, rx, "a-sub", [UPDATES]))[0].subscriptions![0].code;
  return { server, code };
}

Deno.test("notification retry e2e: reactivating a subscription in error re-sends its undelivered notifications in order", async () => {
  const rx = startReceiver();
  const { server, code } = await subscribedServer(rx, 2);
  try {
    await updates(server, "q1", ["female"]);
    await rx.until(() => notifiesOf(rx, code).length === 1);
    rx.status = (r) => r.path.endsWith("/notify") ? 503 : 200;
    await updates(server, "q1", ["other", "unknown", "male", "female"]);
    await eventually(
      async () => (await admin(server, "GET", `/subscriptions/${code}`)).body.state === "error",
      "the subscription in error",
    );
    assert.deepEqual((await log(server, code)).map((n) => n.status), [
      "sent",
      "failed",
      "failed",
      "pending",
      "pending",
    ]);
    rx.status = () => 200;
    // Reactivated from the CLI (another process): the two that failed go first, then the two that waited.
    const cli = await runCliProcess(["subscription", "reactivate", code], { DCI_DATA_DIR: server.dataDir });
    assert.equal(cli.code, 0, cli.stderr);
    await eventually(
      async () => (await log(server, code, "pending")).length === 0,
      "every notification delivered",
    );
    assert.deepEqual(notifiesOf(rx, code).map((r) => recordOf(r).sex), [
      "female",
      "other",
      "unknown",
      "male",
      "female",
    ]);
    assert.deepEqual((await log(server, code)).map((n) => n.status), [
      "sent",
      "sent",
      "sent",
      "sent",
      "sent",
    ]);
    assert.match(cli.stdout, /re-sending 2 undelivered notification/);
  } finally {
    await server.stop();
    await rx.close();
  }
});

Deno.test("notification retry e2e: by id (admin API) and by subscription (CLI), with the same notification id", async () => {
  const rx = startReceiver();
  const { server, code } = await subscribedServer(rx, 100);
  try {
    rx.status = (r) => r.path.endsWith("/notify") ? 503 : 200;
    await updates(server, "q1", ["female", "other"]);
    await eventually(
      async () => (await log(server, code, "failed")).length === 2,
      "two failed notifications",
    );
    rx.status = () => 200;
    await updates(server, "q1", ["unknown"]);
    await rx.until(() => notifiesOf(rx, code).length === 1);
    const [first, second] = await log(server, code, "failed");
    // By id, through the admin API.
    const retried = await admin(server, "POST", `/notifications/${first.notification_id}/retry`);
    assert.equal(retried.status, 202, JSON.stringify(retried.body));
    assert.equal(retried.body.status, "pending");
    await rx.until(() => notifiesOf(rx, code).length === 2);
    const again = notifiesOf(rx, code)[1];
    assert.equal(recordOf(again).sex, "female");
    assert.equal(again.headers.get("x-dci-notification-id"), first.notification_id);
    // A sent notification and an unknown id are refused.
    assert.equal((await admin(server, "POST", `/notifications/${first.notification_id}/retry`)).status, 409);
    assert.equal((await admin(server, "POST", `/notifications/${crypto.randomUUID()}/retry`)).status, 404);
    // By subscription, from the CLI.
    const cli = await runCliProcess(["notification", "retry", "--subscription", code], {
      DCI_DATA_DIR: server.dataDir,
    });
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, /re-sending 1 failed notification/);
    await rx.until(() => notifiesOf(rx, code).length === 3);
    assert.equal(notifiesOf(rx, code)[2].headers.get("x-dci-notification-id"), second.notification_id);
    // The receiver records a request before answering it: the server marks it sent a moment later.
    await eventually(
      async () => (await log(server, code)).every((n) => n.status === "sent"),
      "all three marked sent",
    );
    // A cancelled subscription's notifications are not re-sent.
    rx.status = (r) => r.path.endsWith("/notify") ? 503 : 200;
    await updates(server, "q1", ["male"]);
    await eventually(async () => (await log(server, code, "failed")).length === 1, "one more failed");
    assert.equal((await admin(server, "POST", `/subscriptions/${code}/cancel`)).status, 200);
    const refused = await admin(server, "POST", `/subscriptions/${code}/notifications/retry`);
    assert.equal(refused.status, 409);
    assert.match(JSON.stringify(refused.body), /cancelled/);
    const byCli = await runCliProcess(["notification", "retry", "--subscription", code], {
      DCI_DATA_DIR: server.dataDir,
    });
    assert.equal(byCli.code, 1);
  } finally {
    await server.stop();
    await rx.close();
  }
});
