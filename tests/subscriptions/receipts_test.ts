import assert from "node:assert/strict";
import { type Harness, harness, type Json, verifyWithJwks } from "../transactions/support.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { OutboundError } from "../../src/net/outbound.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { receiptProcessor } from "../../src/subscriptions/receipts.ts";
import { fanOutAll } from "../../src/subscriptions/fanout.ts";
import { input, person, putPerson, subItem } from "./helpers.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";

/** Two auto-approved senders; carol subscribes to registrations and gets one pending notification. */
async function setup(script: Array<number | Error> = []) {
  const h = await harness({}, { script });
  const carol = await createTestSender(h.deps, { auto_approve_subscriptions: true });
  const dave = await createTestSender(h.deps, { auto_approve_subscriptions: true });
  const sub = await subscribeProcessor(
    h.deps,
    input(carol.senderId, {
      transaction_id: "s1",
      subscribe_request: [subItem("r1", { reg_event_type: "REGISTER" })],
    }, "https://carol.example/cb"),
  );
  assert.equal((sub.message as Json).subscribe_response[0].status, "succ");
  await putPerson(h.deps, person("p1"));
  await fanOutAll(h.deps);
  const [n] = await h.deps.storage.notifications.list({ sender: carol.senderId });
  assert.equal(n.status, "pending");
  return { h, carol, dave, notificationId: n.notification_id };
}

async function postReceipt(h: Harness, sender: TestSender, txn: string, message: Record<string, unknown>) {
  return await h.post("/registry/receipt", { transaction_id: txn, ...message }, {
    sender,
    senderUri: `https://${sender.senderId}.example/cb`,
  });
}

async function statusOf(h: Harness, notificationId: string): Promise<string> {
  return (await h.deps.storage.notifications.list({})).find((n) => n.notification_id === notificationId)!
    .status;
}

Deno.test("async receipt: ACK, a durable receipt transaction, then a signed on-receipt callback", async () => {
  const { h, carol, notificationId } = await setup();
  try {
    const res = await postReceipt(h, carol, "rc-1", { notification_id: notificationId });
    assert.equal(res.status, 202);
    const corr = (res.body as Json).message.correlation_id;
    const row = (await h.deps.storage.transactions.getByCorrelationId(corr))!;
    // Accepted means stored: the work and the callback are the transaction worker's, not this request's.
    assert.equal(row.action, "receipt");
    assert.equal(row.sender_id, carol.senderId);
    assert.equal(row.callback_url, `https://${carol.senderId}.example/cb/registry/on-receipt`);
    assert.equal(await statusOf(h, notificationId), "pending");
    assert.equal(h.http.sent.length, 0);
    assert.equal(await h.drain(), 1);
    assert.equal(await statusOf(h, notificationId), "received");
    assert.equal(h.http.sent.length, 1);
    const sent = h.http.sent[0];
    assert.equal(sent.url, row.callback_url);
    assert.equal(sent.init.headers?.["X-DCI-Transaction-ID"], "rc-1");
    const body = sent.body as Json;
    assert.equal(body.header.action, "on-receipt");
    assert.equal(body.header.status, "succ");
    assert.equal(body.header.receiver_id, carol.senderId);
    assert.equal(body.message.correlation_id, corr);
    assert.equal(body.message.receipt_response.notification_id, notificationId);
    assert.equal(body.message.receipt_response.status, "succ");
    assert.ok(verifyWithJwks(body, await h.deps.keys.jwks() as never, h.deps.clock.now()));
    assert.equal((await h.deps.storage.transactions.getByCorrelationId(corr))!.state, "callback_sent");
    // Idempotent: a re-run of the processor (crash before the result was stored) answers the same.
    const again = await receiptProcessor(h.deps, {
      registry: "social",
      senderId: carol.senderId,
      header: JSON.parse(row.request_header),
      message: JSON.parse(row.request_message),
      transactionId: "rc-1",
      correlationId: corr,
    });
    assert.equal(again.status, "succ");
    assert.equal((again.message as Json).receipt_response.status, "succ");
    assert.equal(await statusOf(h, notificationId), "received");
    // A second receipt (new message) for the same notification is answered succ as well.
    await postReceipt(h, carol, "rc-1", { receipt: { notification_id: notificationId } });
    await h.drain();
    assert.equal(h.http.sent.length, 2);
    assert.equal((h.http.sent[1].body as Json).header.status, "succ");
  } finally {
    h.close();
  }
});

Deno.test("async receipt: another sender's notification and an unknown id are refused by callback", async () => {
  const { h, dave, notificationId } = await setup();
  try {
    const foreign = await postReceipt(h, dave, "rd-1", { notification_id: notificationId });
    const unknown = await postReceipt(h, dave, "rd-2", { notification_id: "no-such-notification" });
    assert.equal(foreign.status, 202);
    assert.equal(unknown.status, 202);
    assert.equal(await h.drain(), 2);
    assert.equal(await statusOf(h, notificationId), "pending", "another sender cannot mark it received");
    for (const [i, id] of [[0, notificationId], [1, "no-such-notification"]] as const) {
      const body = h.http.sent[i].body as Json;
      assert.equal(h.http.sent[i].url, `https://${dave.senderId}.example/cb/registry/on-receipt`);
      assert.equal(body.header.action, "on-receipt");
      assert.equal(body.header.status, "rjct");
      assert.equal(body.message.receipt_response.notification_id, id);
      assert.equal(body.message.receipt_response.status, "rjct");
      assert.equal(body.message.receipt_response.status_reason_code, "rjct.reference_id.invalid");
    }
    const rows = await h.deps.sql("SELECT state, outcome FROM transactions WHERE action = 'receipt'");
    assert.deepEqual(rows.map((r) => [r.state, r.outcome]), [["callback_sent", "rjct"], [
      "callback_sent",
      "rjct",
    ]]);
    // No notification id at all is a malformed request: refused at once, nothing stored.
    const bad = await postReceipt(h, dave, "rd-3", {});
    assert.equal(bad.status, 400);
    assert.equal((bad.body as Json).message.error.code, "err.request.bad");
    assert.match((bad.body as Json).message.error.message, /notification_id/);
    const [count] = await h.deps.sql("SELECT COUNT(*) AS n FROM transactions WHERE action = 'receipt'");
    assert.equal(Number(count?.n), 2);
  } finally {
    h.close();
  }
});

Deno.test("async receipt: the on-receipt callback is retried while the receiver is down", async () => {
  const { h, carol, notificationId } = await setup([
    new OutboundError("network", "connection refused"),
    503,
  ]);
  try {
    const res = await postReceipt(h, carol, "rc-down", { notification_id: notificationId });
    const corr = (res.body as Json).message.correlation_id;
    await h.drain();
    let row = (await h.deps.storage.transactions.getByCorrelationId(corr))!;
    // The mark is durable before the first callback attempt; the callback waits for its retry.
    assert.equal(await statusOf(h, notificationId), "received");
    assert.equal(row.state, "succeeded");
    assert.equal(row.last_error, "network: connection refused");
    h.deps.clock.advance(99);
    assert.equal(await h.drain(), 0, "nothing before the first retry delay");
    h.deps.clock.advance(1);
    await h.drain();
    assert.equal(
      (await h.deps.storage.transactions.getByCorrelationId(corr))!.last_error,
      "HTTP 503 from callback URL",
    );
    h.deps.clock.advance(200);
    await h.drain();
    row = (await h.deps.storage.transactions.getByCorrelationId(corr))!;
    assert.equal(row.state, "callback_sent");
    assert.equal(row.attempts, 3);
    assert.equal(h.http.sent.length, 3);
    const ids = new Set(h.http.sent.map((s) => (s.body as Json).header.message_id));
    assert.equal(ids.size, 1, "a retried on-receipt keeps its message_id");
    assert.equal((h.http.sent[2].body as Json).header.status, "succ");
  } finally {
    h.close();
  }
});

Deno.test({
  name: "migration 0006 keeps existing transactions and refs and admits the receipt action",
  // A SQLite schema upgrade (PostgreSQL has its own migrations, from the current schema).
  ignore: TEST_BACKEND === "postgres",
}, () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db, MIGRATIONS.filter((m) => m.version <= 5));
    const insert = (action: string, id: number) =>
      db.prepare(
        `INSERT INTO transactions (id, sender_id, transaction_id, dedupe_key, message_id, correlation_id, action,
           registry, callback_url, request_header, request_message, ack, state, created_at, updated_at)
         VALUES (?, 's', 't', ?, 'm', ?, ?, 'social', 'https://x.example', '{}', '{}', '{}', 'pending', 'T', 'T')`,
      ).run(id, `d${id}`, `c${id}`, action);
    insert("search", 1);
    db.prepare("INSERT INTO transaction_refs (sender_id, reference_id, txn) VALUES ('s', 'r1', 1)").run();
    assert.throws(() => insert("receipt", 2), /CHECK/);
    migrate(db);
    insert("receipt", 2);
    const rows = db.prepare("SELECT id, action FROM transactions ORDER BY id").all();
    assert.deepEqual(rows.map((r) => [r.id, r.action]), [[1, "search"], [2, "receipt"]]);
    assert.equal(db.prepare("SELECT txn FROM transaction_refs").get()?.txn, 1);
    db.prepare("DELETE FROM transactions WHERE id = 1").run();
    assert.equal(
      db.prepare("SELECT COUNT(*) AS n FROM transaction_refs").get()?.n,
      0,
      "the cascade still works",
    );
    const indexes = db.prepare(
      "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'transactions'",
    )
      .all().map((r) => r.name);
    assert.ok(indexes.includes("transactions_open") && indexes.includes("transactions_failed"));
  } finally {
    db.close();
  }
});
