/**
 * Transaction status and receipts as OpenSPP sends them: reference_id_list (and OpenSPP's `reference_id`) also
 * match the request's header.message_id; subscription_code_list answers the sender's own subscriptions; the
 * `receipt_information` receipt shape. Sync and async; every answer validated against the social spec yaml.
 */
import assert from "node:assert/strict";
import { type Harness, harness, type Json, searchMessage } from "../transactions/support.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { answerErrors, callbackErrors } from "../helpers/spec_check.ts";
import { person, putPerson, subItem } from "../subscriptions/helpers.ts";
import { seedSubscription } from "../../src/subscriptions/seed.ts";
import { fanOutAll } from "../../src/subscriptions/fanout.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";

/**
 * Checks an answer against the social spec yaml (tests/helpers/spec_check.ts; its relaxations, among them the
 * subscribe shape of txn_status, are in tests/helpers/spec_defects.ts). A txn status of nothing found is
 * checked the same way: the spec-exact rejection (issue 12 §1) gives it the spec's shape.
 */
function checkAnswer(body: Json, errors: (body: Json) => string[]): void {
  assert.deepEqual(errors(body), []);
}

const SYNC_STATUS = (body: Json) => answerErrors("/registry/sync/txn/status", 200, body);

/** A sync txn-status answer, checked against the spec's response schema. */
async function syncStatus(h: Harness, message: Record<string, unknown>, o: { sender?: TestSender } = {}) {
  const res = await h.post("/registry/sync/txn/status", message, { action: "txn-status", ...o });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  checkAnswer(res.body, SYNC_STATUS);
  return res.body as Json;
}

/** The async txn-on-status callbacks, each checked against the spec's `txn/on-status` request body. */
function statusCallbacks(h: Harness): Json[] {
  const sent = h.http.sent.filter((s) => s.url.endsWith("/registry/txn/on-status")).map((s) =>
    s.body as Json
  );
  for (const body of sent) checkAnswer(body, (b) => callbackErrors(b, { path: "/registry/txn/on-status" }));
  return sent;
}

function query(txn: string, attributeType: string, value: unknown, extra: Record<string, unknown> = {}) {
  return {
    transaction_id: txn,
    txnstatus_request: {
      reference_id: `${txn}-q`,
      attribute_type: attributeType,
      attribute_value: value,
      ...extra,
    },
  };
}

Deno.test("txn status by reference_id_list finds a transaction by its request's header.message_id (sync and async)", async () => {
  const h = await harness();
  try {
    const ack = await h.post("/registry/search", searchMessage("t-msg", 2));
    assert.equal(ack.status, 202);
    await h.drain();
    const messageId = JSON.parse(await getHeader(h, "t-msg")).message_id;
    const sync = await syncStatus(h, query("q-1", "reference_id_list", [messageId], { txn_type: "search" }));
    assert.equal(sync.header.status, "succ");
    const status = sync.message.txnstatus_response.txn_status;
    assert.equal(status.transaction_id, "t-msg");
    // The message_id names the whole transaction: every item is shown.
    assert.deepEqual(status.search_response.map((i: Json) => i.reference_id), ["t-msg-ref-0", "t-msg-ref-1"]);
    // Reference ids still select items, beside the message id.
    const mixed = await syncStatus(h, query("q-2", "reference_id_list", ["t-msg-ref-1", "no-such"]));
    assert.deepEqual(
      mixed.message.txnstatus_response.txn_status.search_response.map((i: Json) => i.reference_id),
      ["t-msg-ref-1"],
    );

    // OpenSPP's client: attribute_type "reference_id" with a string, no txn_type, header.action "txn_status",
    // sent to the async endpoint.
    const openspp = await h.post("/registry/txn/status", query("q-3", "reference_id", messageId), {
      action: "txn_status",
    });
    assert.equal(openspp.status, 202, JSON.stringify(openspp.body));
    await h.drain();
    const [cb] = statusCallbacks(h);
    assert.equal(cb.header.status, "succ");
    assert.equal(cb.message.txnstatus_response.txn_type, "search");
    assert.equal(cb.message.txnstatus_response.txn_status.transaction_id, "t-msg");
    assert.equal(cb.message.txnstatus_response.txn_status.search_response.length, 2);

    // Another sender cannot find it by its message_id.
    const bob = await createTestSender(h.deps);
    const other = await syncStatus(h, query("q-4", "reference_id_list", [messageId]), { sender: bob });
    assert.equal(other.header.status, "rjct");
    assert.equal(JSON.stringify(other.message).includes("t-msg"), false);
  } finally {
    h.close();
  }
});

Deno.test("txn status by subscription_code_list answers the sender's own subscriptions as a SubscribeResponse", async () => {
  const h = await harness({ outboundAllow: "127.0.0.1" });
  try {
    const carol = await createTestSender(h.deps, { auto_approve_subscriptions: true });
    const dave = await createTestSender(h.deps);
    const subscribe = async (sender: TestSender, txn: string) => {
      const res = await h.post("/registry/subscribe", {
        transaction_id: txn,
        subscribe_request: [
          subItem(`${txn}-r0`, { reg_event_type: "REGISTER", notify_record_type: "Member" }),
        ],
      }, { sender, senderUri: "https://rx.example/cb" });
      assert.equal(res.status, 202);
      await h.drain();
      return h.http.sent.at(-1)!.body as Json;
    };
    const onSub = await subscribe(carol, "s-carol");
    const carolCode = onSub.message.subscribe_response[0].subscriptions[0].code;
    const daveCode = (await subscribe(dave, "s-dave")).message.subscribe_response[0].subscriptions[0].code;
    await seedSubscription(h.deps, {
      sender_id: carol.senderId,
      code: "sub-test-001",
      notify_url: "https://rx.example/cb/registry/notify",
      subscribe_criteria: { reg_event_type: "UPDATE", notify_record_type: "Member", filter: {} },
    });

    // One code from one subscribe transaction: that transaction's ids.
    const one = await syncStatus(
      h,
      query("q-1", "subscription_code_list", [carolCode], { txn_type: "subscribe" }),
      {
        sender: carol,
      },
    );
    assert.equal(one.header.status, "succ");
    assert.equal(one.message.txnstatus_response.txn_type, "subscribe");
    const s1 = one.message.txnstatus_response.txn_status;
    assert.equal(s1.transaction_id, "s-carol");
    assert.equal(s1.correlation_id, onSub.message.correlation_id);
    assert.deepEqual(s1.subscribe_response.map((i: Json) => [i.reference_id, i.status]), [[
      "s-carol-r0",
      "succ",
    ]]);
    assert.equal(s1.subscribe_response[0].subscriptions[0].status, "subscribe");

    // The seeded code, dave's code and an unknown one: dave's is answered exactly as an unknown one.
    const many = await syncStatus(
      h,
      query("q-2", "subscription_code_list", ["sub-test-001", daveCode, "nope", carolCode]),
      { sender: carol },
    );
    const s2 = many.message.txnstatus_response.txn_status;
    assert.equal(s2.transaction_id, "q-2", "several origins: the status query's own ids");
    assert.deepEqual(s2.subscribe_response.map((i: Json) => [i.status, i.status_reason_code ?? null]), [
      ["succ", null],
      ["rjct", "rjct.reference_id.invalid"],
      ["rjct", "rjct.reference_id.invalid"],
      ["succ", null],
    ]);
    assert.equal(s2.subscribe_response[0].subscriptions[0].code, "sub-test-001");
    assert.equal(s2.subscribe_response[0].subscriptions[0].reg_event_type, "UPDATE");
    assert.equal(
      s2.subscribe_response[1].status_reason_message.replace(daveCode, "X"),
      s2.subscribe_response[2].status_reason_message.replace("nope", "X"),
    );
    // Only other senders' codes: rejected, nothing shown.
    const none = await syncStatus(h, query("q-3", "subscription_code_list", [daveCode]), { sender: carol });
    assert.equal(none.header.status, "rjct");
    // Nothing of dave's is shown: one rejected item (the spec's shape, issue 12 §1), no subscription info; the
    // reason echoes only the codes carol sent, worded as for a code that does not exist.
    const noneStatus = none.message.txnstatus_response.txn_status;
    assert.deepEqual(
      noneStatus.subscribe_response.map((i: Json) => [i.status, i.status_reason_code, i.subscriptions]),
      [["rjct", "rjct.reference_id.invalid", undefined]],
    );
    // A txn_type other than subscribe is refused naming it.
    const wrong = await syncStatus(
      h,
      query("q-4", "subscription_code_list", [carolCode], { txn_type: "search" }),
      {
        sender: carol,
      },
    );
    assert.equal(wrong.header.status, "rjct");
    assert.match(wrong.header.status_reason_message, /txn_type must be "subscribe"/);

    // Async: the same answer by callback.
    const ack = await h.post(
      "/registry/txn/status",
      query("q-5", "subscription_code_list", ["sub-test-001"]),
      {
        sender: carol,
      },
    );
    assert.equal(ack.status, 202);
    await h.drain();
    const [cb] = statusCallbacks(h);
    assert.equal(
      cb.message.txnstatus_response.txn_status.subscribe_response[0].subscriptions[0].code,
      "sub-test-001",
    );
  } finally {
    h.close();
  }
});

/** Carol holds a subscription to registrations (seeded); two registrations are notified and delivered (sent). */
async function delivered() {
  const h = await harness();
  const carol = await createTestSender(h.deps);
  const dave = await createTestSender(h.deps);
  const { code } = await seedSubscription(h.deps, {
    sender_id: carol.senderId,
    code: "sub-carol",
    notify_url: "https://carol.example/cb/registry/notify",
    subscribe_criteria: { reg_event_type: "REGISTER", notify_record_type: "person" },
  });
  await putPerson(h.deps, person("p1"));
  await putPerson(h.deps, person("p2"));
  await fanOutAll(h.deps);
  await runNotifierOnce(h.deps, { random: () => 0.5 });
  await runNotifierOnce(h.deps, { random: () => 0.5 });
  const sent = await h.deps.storage.notifications.list({ sender: carol.senderId });
  assert.deepEqual(sent.map((n) => n.status), ["sent", "sent"]);
  return { h, carol, dave, code, newest: sent[0].notification_id, oldest: sent[1].notification_id };
}

async function statuses(h: Harness): Promise<Record<string, string>> {
  return Object.fromEntries(
    (await h.deps.storage.notifications.list({})).map((n) => [n.notification_id, n.status]),
  );
}

Deno.test("receipt_information receipts (OpenSPP's shape) mark the sender's own notification received", async () => {
  const { h, carol, dave, code, newest, oldest } = await delivered();
  try {
    const post = (path: string, sender: TestSender, txn: string, info: Record<string, unknown>) =>
      h.post(path, { transaction_id: txn, receipt_information: info }, {
        sender,
        action: "receipt",
        senderUri: "https://carol.example/cb",
      });
    // Sync, by notification_id, with receipt_type and beneficiaries as OpenSPP sends them.
    const byId = await post("/registry/sync/receipt", carol, "rc-1", {
      receipt_type: "notification",
      notification_id: oldest,
      subscription_code: code,
      beneficiaries: [{ identifier_type: "UIN", identifier_value: "U-p1" }],
    });
    assert.equal(byId.status, 200, JSON.stringify(byId.body));
    assert.equal((byId.body as Json).header.status, "succ");
    assert.deepEqual(answerErrors("/registry/sync/receipt", 200, byId.body), []);
    assert.equal((byId.body as Json).message.receipt_response.notification_id, oldest);
    assert.deepEqual(await statuses(h), { [newest]: "sent", [oldest]: "received" });

    // By subscription_code alone: that subscription's latest delivered notification; a repeat is the same one.
    for (const txn of ["rc-2", "rc-3"]) {
      const byCode = await post("/registry/sync/receipt", carol, txn, {
        receipt_type: "notification",
        subscription_code: code,
      });
      assert.equal((byCode.body as Json).header.status, "succ");
      assert.equal((byCode.body as Json).message.receipt_response.notification_id, newest);
    }
    assert.deepEqual(await statuses(h), { [newest]: "received", [oldest]: "received" });

    // Dave cannot acknowledge carol's notifications, by code or by id in carol's subscription.
    for (const info of [{ subscription_code: code }, { notification_id: newest, subscription_code: code }]) {
      const r = await post("/registry/sync/receipt", dave, `rd-${Object.keys(info).length}`, info);
      assert.equal((r.body as Json).header.status, "rjct");
      assert.equal((r.body as Json).message.receipt_response.status, "rjct");
    }
    // A notification id that is not in the named subscription is refused.
    const mismatch = await post("/registry/sync/receipt", carol, "rc-4", {
      notification_id: oldest,
      subscription_code: "x",
    });
    assert.match((mismatch.body as Json).header.status_reason_message, /in subscription "x"/);

    // Neither id: refused at once, naming the field.
    const bad = await post("/registry/sync/receipt", carol, "rc-5", { receipt_type: "notification" });
    assert.equal(bad.status, 400);
    assert.match(JSON.stringify(bad.body), /receipt_information\.notification_id/);

    // Async: ACK, then the on-receipt callback; its status is found by txn/status with txn_type receipt.
    const ack = await post("/registry/receipt", carol, "rc-6", {
      receipt_type: "notification",
      subscription_code: code,
    });
    assert.equal(ack.status, 202);
    await h.drain();
    const cb = h.http.sent.at(-1)!;
    assert.equal(cb.url, "https://carol.example/cb/registry/on-receipt");
    assert.equal((cb.body as Json).message.receipt_response.notification_id, newest);
    const st = await syncStatus(h, query("q-r", "transaction_id", "rc-6", { txn_type: "receipt" }), {
      sender: carol,
    });
    assert.equal(st.header.status, "succ", "a receipt is found by its transaction_id too");
    assert.equal((st.message as Json).txnstatus_response.txn_status.receipt_response.notification_id, newest);
    const byMessage = await syncStatus(
      h,
      query("q-r2", "reference_id_list", [JSON.parse(await getHeader(h, "rc-6")).message_id], {
        txn_type: "receipt",
      }),
      { sender: carol },
    );
    assert.equal(byMessage.header.status, "succ");
    assert.equal(byMessage.message.txnstatus_response.txn_type, "receipt");
    assert.equal(byMessage.message.txnstatus_response.txn_status.receipt_response.notification_id, newest);
  } finally {
    h.close();
  }
});

async function getHeader(h: Harness, transactionId: string): Promise<string> {
  const [row] = await h.deps.sql("SELECT request_header FROM transactions WHERE transaction_id = ?", [
    transactionId,
  ]);
  return (row as { request_header: string }).request_header;
}
