/**
 * What held (issue 11): senders are isolated from each other on every path a sender can call without an admin.
 * Asked about another sender's transaction, notification or subscription, a sender gets exactly the answer it
 * gets for one that does not exist (sync and by callback), nothing of the other sender changes, and each
 * sender's notifications go only to that sender.
 */
import assert from "node:assert/strict";
import { type Harness, harness, type Json, searchMessage } from "../transactions/support.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { person, putPerson } from "../subscriptions/helpers.ts";
import { subscribeMessage } from "../subscriptions/e2e_support.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";

/** Fields that differ between any two answers (fresh ids and clocks) and are not about the asked-for object. */
const VOLATILE = new Set([
  "timestamp",
  "message_ts",
  "message_id",
  "correlation_id",
  "transaction_id",
  "signature",
]);

/** An answer with the volatile fields blanked and the asked-for id replaced by a placeholder. */
function shape(value: unknown, asked: string): unknown {
  return JSON.parse(JSON.stringify(value).replaceAll(asked, "ASKED"), (k, v) => VOLATILE.has(k) ? "" : v);
}

function urlOf(sender: TestSender): string {
  return `https://${sender.senderId}.example/cb`;
}

/** Posts from `sender` with its own callback URL. */
function post(
  h: Harness,
  sender: TestSender,
  path: string,
  message: Record<string, unknown>,
  action?: string,
) {
  return h.post(path, message, { sender, senderUri: urlOf(sender), action });
}

/** The callback the last drain sent to `sender` for transaction `txn`. */
function callbackFor(h: Harness, sender: TestSender, txn: string): Json {
  const sent = h.http.sent.filter((s) =>
    s.url.startsWith(urlOf(sender)) && (s.body.message as Json)?.transaction_id === txn
  );
  assert.equal(sent.length, 1, `one callback for ${txn}`);
  return sent[0].body;
}

function statusQuery(txn: string, type: string, value: unknown): Record<string, unknown> {
  return {
    transaction_id: txn,
    txnstatus_request: {
      reference_id: "q1",
      txn_type: "search",
      attribute_type: type,
      attribute_value: value,
    },
  };
}

Deno.test("held: a sender asking about another sender's transaction, notification or subscription gets the answer for an unknown one", async () => {
  const h = await harness();
  try {
    const alice = await createTestSender(h.deps, { auto_approve_subscriptions: true });
    const bob = await createTestSender(h.deps, { auto_approve_subscriptions: true });
    // Bob's things: a transaction, a subscription and a notification.
    const search = await post(h, bob, "/registry/search", searchMessage("t-bob"));
    const bobCorr = (search.body.message as Json).correlation_id as string;
    const criteria = [{ reg_event_type: "update", notify_record_type: "person" }];
    for (const s of [bob, alice]) {
      await post(h, s, "/registry/subscribe", subscribeMessage(`sub-${s.senderId}`, criteria));
    }
    await h.drain();
    const codeOf = (s: TestSender) =>
      callbackFor(h, s, `sub-${s.senderId}`).message.subscribe_response[0].subscriptions[0].code as string;
    const bobCode = codeOf(bob);
    const aliceCode = codeOf(alice);
    await putPerson(h.deps, person("P-1"));
    await putPerson(h.deps, person("P-1", { sex: "male" }));
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    const [bobNote] = await h.deps.storage.notifications.list({ sender: bob.senderId });
    assert.equal(bobNote.status, "sent");
    // Each sender's notification went to that sender only.
    const notifies = h.http.sent.filter((s) => s.url.endsWith("/notify"));
    assert.deepEqual(
      notifies.map((n) => [(n.body.message as Json).notify_event[0].subscription_code, n.url]).sort(),
      [[aliceCode, `${urlOf(alice)}/registry/notify`], [bobCode, `${urlOf(bob)}/registry/notify`]].sort(),
    );
    const bobsRows = async () =>
      JSON.stringify([
        await h.deps.sql("SELECT * FROM transactions WHERE sender_id = ? ORDER BY id", [bob.senderId]),
        await h.deps.sql("SELECT * FROM subscriptions WHERE sender_id = ? ORDER BY id", [bob.senderId]),
        await h.deps.storage.notifications.list({ sender: bob.senderId }),
      ]);
    const before = await bobsRows();

    // Alice asks about each of Bob's, and about an unknown one of the same kind.
    const unknownCorr = crypto.randomUUID();
    const lookups: Array<[string, string, string, (v: string) => unknown]> = [
      ["transaction_id", "t-bob", "t-nobody", (v) => v],
      ["correlation_id", bobCorr, unknownCorr, (v) => v],
      ["reference_id_list", "t-bob-ref-0", "nobody-ref-0", (v) => [v]],
    ];
    for (const [type, bobs, unknown, value] of lookups) {
      const a = await post(
        h,
        alice,
        "/registry/sync/txn/status",
        statusQuery(`q-${bobs}`, type, value(bobs)),
      );
      const b = await post(
        h,
        alice,
        "/registry/sync/txn/status",
        statusQuery(`q-${unknown}`, type, value(unknown)),
      );
      assert.deepEqual(shape(a.body, bobs), shape(b.body, unknown), `sync txn/status by ${type}`);
    }
    const receipt = (id: string) =>
      post(h, alice, "/registry/sync/receipt", { transaction_id: `r-${id}`, notification_id: id });
    assert.deepEqual(
      shape((await receipt(bobNote.notification_id)).body, bobNote.notification_id),
      shape((await receipt("n-unknown")).body, "n-unknown"),
      "sync receipt",
    );
    // By callback: async txn/status, receipt and unsubscribe.
    const unknownCode = `${bobCode.slice(0, -4)}zzzz`;
    const asks: Array<[string, (v: string) => Record<string, unknown>, string, string]> = [
      ["/registry/txn/status", (v) => statusQuery(`aq-${v}`, "correlation_id", v), bobCorr, unknownCorr],
      [
        "/registry/receipt",
        (v) => ({ transaction_id: `aq-${v}`, notification_id: v }),
        bobNote.notification_id,
        "n-x",
      ],
      [
        "/registry/unsubscribe",
        (v) => ({ transaction_id: `aq-${v}`, subscription_codes: [v] }),
        bobCode,
        unknownCode,
      ],
    ];
    for (const [path, message, bobs, unknown] of asks) {
      assert.equal((await post(h, alice, path, message(bobs))).status, 202);
      assert.equal((await post(h, alice, path, message(unknown))).status, 202);
      await h.drain();
      assert.deepEqual(
        shape(callbackFor(h, alice, `aq-${bobs}`), bobs),
        shape(callbackFor(h, alice, `aq-${unknown}`), unknown),
        path,
      );
    }
    // Nothing of Bob's changed, and Bob got nothing from Alice's questions.
    const after = await bobsRows();
    assert.equal(after, before);
    assert.equal((await h.deps.storage.subscriptions.get(bobCode))?.state, "active");
    assert.ok(
      h.http.sent.filter((s) => s.url.startsWith(urlOf(bob))).length === 3,
      "search, subscribe, notify",
    );
  } finally {
    h.close();
  }
});
