/**
 * The callback's message_id is made at the ACK and kept by processing: a transaction processed again (after the
 * restore of a backup taken between its ACK and its delivery) is called back under the same message_id, which is
 * what its receiver de-duplicates by.
 */
import assert from "node:assert/strict";
import { type Harness, harness, type Json, saveBareTransaction, searchMessage } from "./support.ts";
import { TXN_KIND } from "../../src/transactions/worker.ts";

/** The stored callback message_id of the transaction an ACK named. */
async function storedCallbackId(h: Harness, ack: Json): Promise<string | null> {
  const row = await h.deps.storage.transactions.getByCorrelationId(ack.message.correlation_id);
  return row!.callback_message_id;
}

Deno.test("accepting search, subscribe, unsubscribe, txn-status and receipt stores the callback's message_id, which the callback carries", async () => {
  const h = await harness();
  try {
    const now = () => new Date(h.deps.clock.now()).toISOString();
    const requests: Array<[string, Record<string, unknown>]> = [
      ["/registry/search", searchMessage("cm-search")],
      ["/registry/subscribe", {
        transaction_id: "cm-sub",
        subscribe_request: [{ reference_id: "r1", timestamp: now(), subscribe_criteria: {} }],
      }],
      ["/registry/unsubscribe", { transaction_id: "cm-unsub", timestamp: now(), subscription_codes: ["c1"] }],
      ["/registry/txn/status", {
        transaction_id: "cm-status",
        txnstatus_request: {
          reference_id: "q1",
          txn_type: "search",
          attribute_type: "transaction_id",
          attribute_value: "cm-search",
        },
      }],
      ["/registry/receipt", { transaction_id: "cm-receipt", notification_id: "n-unknown" }],
    ];
    const expected = new Map<string, string>();
    for (const [path, message] of requests) {
      const res = await h.post(path, message);
      assert.equal(res.status, 202, `${path}: ${JSON.stringify(res.body)}`);
      const id = await storedCallbackId(h, res.body);
      assert.match(id ?? "", /^[0-9a-f-]{36}$/, `${path}: a callback message_id at the ACK`);
      expected.set((res.body as Json).message.correlation_id, id!);
    }
    await h.drain();
    assert.equal(h.http.sent.length, requests.length);
    for (const sent of h.http.sent) {
      const body = sent.body as Json;
      assert.equal(body.header.message_id, expected.get(body.message.correlation_id), sent.url);
    }
  } finally {
    h.close();
  }
});

Deno.test("a transaction processed and delivered again (as after a restore) is called back under the same message_id", async () => {
  const h = await harness();
  try {
    const res = await h.post("/registry/search", searchMessage("cm-again"));
    assert.equal(res.status, 202);
    const row =
      (await h.deps.storage.transactions.getByCorrelationId((res.body as Json).message.correlation_id))!;
    await h.drain();
    assert.equal(h.http.sent.length, 1);
    // A backup taken between the ACK and the delivery holds the row as received: restored, it is redone.
    await h.deps.sql(
      `UPDATE transactions SET state = 'received', outcome = NULL, attempts = 0, process_attempts = 0,
         next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, processed_at = NULL, completed_at = NULL
       WHERE id = ?`,
      [row.id],
    );
    await h.deps.queue.enqueue({ kind: TXN_KIND, id: String(row.id) });
    await h.drain();
    assert.equal(h.http.sent.length, 2);
    const [first, second] = h.http.sent.map((s) => (s.body as Json).header.message_id);
    assert.equal(first, row.callback_message_id);
    assert.equal(second, first, "the same message_id both times");
  } finally {
    h.close();
  }
});

Deno.test("a transaction stored without a callback message_id (before it was made at the ACK) gets one at processing", async () => {
  const h = await harness();
  try {
    const id = await saveBareTransaction(
      h.deps,
      h.alice.senderId,
      "cm-old",
      new Date(h.deps.clock.now()).toISOString(),
    );
    assert.equal((await h.deps.storage.transactions.get(id))!.callback_message_id, null);
    await h.worker.handle(id);
    const stored = (await h.deps.storage.transactions.get(id))!.callback_message_id;
    assert.match(stored ?? "", /^[0-9a-f-]{36}$/);
    assert.equal(h.http.sent.length, 1);
    assert.equal((h.http.sent[0].body as Json).header.message_id, stored);
  } finally {
    h.close();
  }
});
