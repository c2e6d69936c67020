/** The transaction store, the same contract on both backends. */
import { deepEqual, equal, ok } from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { iso, newTxn, processed, scope, T0 } from "../helpers/txn_rows.ts";
import type { NewAttempt } from "../../src/transactions/attempts.ts";

const attempt = (outcome: NewAttempt["outcome"], at: number): NewAttempt => ({
  started_at: iso(at),
  duration_ms: 12.6,
  url: "https://user:secret@receiver.example/on-search",
  outcome,
  http_status: outcome === "sent" ? 200 : 503,
  receiver_code: null,
  error: outcome === "sent" ? null : "HTTP 503",
});

backendTest(
  "transaction store: insert stores once; a repeat gets the stored row; lookups find it",
  async (s) => {
    const t = s.transactions;
    const first = await t.insert(newTxn("s1", "tx-1", 0, ["r1", "r2", "r1"]));
    equal(first.created, true);
    equal(typeof first.row.id, "number");
    equal(first.row.correlation_id, "c-s1-tx-1");
    const again = await t.insert({ ...newTxn("s1", "tx-1", 5), correlation_id: "other", ack: "{}" });
    deepEqual(again, { row: first.row, created: false });
    // The same transaction_id of another sender is its own transaction.
    const other = await t.insert(newTxn("s2", "tx-1", 1, ["r1"]));
    equal(other.created, true);

    const row = (await t.get(first.row.id))!;
    equal(row.state, "received");
    equal(row.attempts, 0);
    equal(row.process_attempts, 0);
    equal(row.outcome, null);
    equal(row.total_count, null);
    equal(row.lease_until, null);
    equal(row.created_at, iso(T0));
    equal(row.request_message, JSON.stringify({ transaction_id: "tx-1" }));
    deepEqual(await t.getByCorrelationId("c-s1-tx-1"), row);
    deepEqual(await t.getByCorrelationId("c-s1-tx-1", "s1"), row);
    equal(await t.getByCorrelationId("c-s1-tx-1", "s2"), undefined);
    equal(await t.get(999_999), undefined);
    deepEqual((await t.findByTransactionId(scope("s1"), "tx-1")).map((r) => r.id), [first.row.id]);
    deepEqual((await t.findByReferenceIds(scope("s1"), ["r2", "nope"])).map((r) => r.id), [first.row.id]);
    deepEqual((await t.findByReferenceIds(scope("s2"), ["r1"])).map((r) => r.id), [other.row.id]);
    deepEqual(await t.findByReferenceIds(scope("s1"), []), []);
    deepEqual(
      (await t.findByMessageIds(scope("s1"), ["m-tx-1", "x' OR '1'='1"])).map((r) => r.id),
      [first.row.id],
    );
    deepEqual(await t.findByMessageIds(scope("s1"), []), []);
    // Another registry's status query, or a sender registered again after the transaction, sees none of them.
    for (const other of [scope("s1", "crvs"), scope("s1", "social", iso(T0 + 1))]) {
      deepEqual(await t.findByTransactionId(other, "tx-1"), []);
      deepEqual(await t.findByReferenceIds(other, ["r2"]), []);
      deepEqual(await t.findByMessageIds(other, ["m-tx-1"]), []);
    }
  },
);

backendTest("transaction store: a bulk search's file row commits with its transaction, once", async (s) => {
  const bulk = {
    spool: "a.json",
    file_name: "a.json",
    file_format: "json" as const,
    items_total: 25,
    page_size: 10,
  };
  const first = await s.transactions.insert(newTxn("s1", "bulk-1"), bulk);
  equal(first.created, true);
  const row = (await s.transactions.get(first.row.id))!;
  equal(row.total_count, 25);
  equal(row.completed_count, 0);
  const again = await s.transactions.insert(newTxn("s1", "bulk-1"), { ...bulk, spool: "b.json" });
  equal(again.created, false);
  equal(again.row.id, first.row.id);
});

backendTest("transaction store: processing is claimed by one holder, completed only by it", async (s) => {
  const t = s.transactions;
  const { row: { id } } = await t.insert(newTxn("s1", "tx-1"));
  await t.markPending(id, iso(T0 + 1));
  equal((await t.get(id))!.state, "pending");
  const claimed = (await t.claimProcessing(id, "a", iso(T0 + 2), iso(T0 + 60_000)))!;
  equal(claimed.state, "processing");
  equal(claimed.lease_owner, "a");
  equal(claimed.process_attempts, 1);
  // markPending after the claim changes nothing.
  await t.markPending(id, iso(T0 + 3));
  equal(await t.claimProcessing(id, "b", iso(T0 + 3), iso(T0 + 60_000)), undefined);
  const p = {
    outcome: "rjct" as const,
    totalCount: 2,
    completedCount: 0,
    result: "{}",
    callbackMessageId: "cb",
  };
  equal(await t.completeProcessing(id, "b", p, iso(T0 + 4)), false);
  // A failed attempt: the lease goes, the transaction is due again; an uncounted one takes its count back.
  ok(await t.releaseProcessing(id, "a", { error: "boom", retryAt: iso(T0 + 10_000), now: iso(T0 + 5) }));
  equal(await t.releaseProcessing(id, "a", { error: "again", retryAt: iso(T0), now: iso(T0) }), false);
  const second = (await t.claimProcessing(id, "c", iso(T0 + 20_000), iso(T0 + 80_000)))!;
  equal(second.process_attempts, 2);
  equal(second.process_error, "boom");
  ok(await t.releaseProcessing(id, "c", { error: "busy", retryAt: iso(T0), now: iso(T0), uncount: true }));
  equal((await t.get(id))!.process_attempts, 1);
  // A lapsed lease may be claimed by another holder.
  ok(await t.claimProcessing(id, "d", iso(T0 + 20_000), iso(T0 + 30_000)));
  ok(await t.claimProcessing(id, "e", iso(T0 + 30_000), iso(T0 + 90_000)));
  equal(await t.completeProcessing(id, "d", p, iso(T0 + 31_000)), false);
  ok(await t.completeProcessing(id, "e", { ...p, processError: "x".repeat(2000) }, iso(T0 + 31_000)));
  const done = (await t.get(id))!;
  equal(done.state, "rejected");
  equal(done.outcome, "rjct");
  equal(done.total_count, 2);
  equal(done.process_error!.length, 999);
  equal(done.next_attempt_at, iso(T0 + 31_000));
  equal(done.lease_owner, null);
});

backendTest(
  "transaction store: callbacks are claimed when due, and each outcome records its attempt",
  async (s, sql) => {
    const t = s.transactions;
    const { row: { id } } = await t.insert(newTxn("s1", "tx-1"));
    await processed(s, id, 1000);
    equal(await t.claimCallback(id, "a", iso(T0 + 999), iso(T0 + 60_000)), undefined, "not due yet");
    const c1 = (await t.claimCallback(id, "a", iso(T0 + 1000), iso(T0 + 60_000)))!;
    equal(c1.attempts, 1);
    equal(await t.claimCallback(id, "b", iso(T0 + 1000), iso(T0 + 60_000)), undefined, "leased");
    // A claim given back before any attempt is not counted.
    ok(await t.releaseCallback(id, "a"));
    equal((await t.get(id))!.attempts, 0);
    ok(await t.claimCallback(id, "a", iso(T0 + 2000), iso(T0 + 60_000)));
    const failure = { error: "HTTP 503", receiverCode: "err.busy" };
    ok(
      await t.scheduleRetry(
        id,
        "a",
        { failure, nextAt: iso(T0 + 9000), now: iso(T0 + 2000) },
        attempt("retry", T0),
      ),
    );
    equal(
      await t.scheduleRetry(id, "a", { failure, nextAt: iso(T0), now: iso(T0) }, attempt("retry", T0)),
      false,
    );
    const r = (await t.get(id))!;
    deepEqual([r.last_error, r.receiver_code, r.next_attempt_at, r.lease_owner], [
      "HTTP 503",
      "err.busy",
      iso(T0 + 9000),
      null,
    ]);
    ok(await t.claimCallback(id, "b", iso(T0 + 9000), iso(T0 + 60_000)));
    ok(
      await t.markCallbackFailed(
        id,
        "b",
        { failure: { error: "gone" }, now: iso(T0 + 9500) },
        attempt("failed", T0),
      ),
    );
    const failed = (await t.get(id))!;
    equal(failed.state, "callback_failed");
    equal(failed.receiver_code, null);
    equal(failed.completed_at, iso(T0 + 9500));
    ok(await t.reopenFailedCallback(id, iso(T0 + 10_000)));
    equal(await t.reopenFailedCallback(id, iso(T0 + 10_000)), false);
    const reopened = (await t.get(id))!;
    deepEqual([reopened.state, reopened.attempts, reopened.completed_at], ["succeeded", 0, null]);
    ok(await t.claimCallback(id, "c", iso(T0 + 10_000), iso(T0 + 60_000)));
    await t.setCallbackUrl(id, "https://moved.example/cb");
    ok(await t.markCallbackSent(id, "c", iso(T0 + 11_000), attempt("sent", T0 + 10_000)));
    const sent = (await t.get(id))!;
    deepEqual([sent.state, sent.last_error, sent.callback_url], [
      "callback_sent",
      null,
      "https://moved.example/cb",
    ]);

    const history = await t.attempts(id);
    equal(history.omitted, 0);
    deepEqual(history.attempts.map((a) => [a.attempt, a.outcome, a.http_status]), [
      [1, "retry", 503],
      [2, "retry", 503],
      [3, "failed", 503],
      [4, "sent", 200],
    ]);
    // Stored bounded and without userinfo.
    deepEqual(history.attempts[3], {
      attempt: 4,
      started_at: iso(T0 + 10_000),
      duration_ms: 13,
      url: "https://receiver.example/on-search",
      outcome: "sent",
      http_status: 200,
      receiver_code: null,
      error: null,
    });
    deepEqual(await t.leaseOf(id), {
      state: "callback_sent",
      lease_owner: null,
      sender_id: "s1",
      active: null,
    });
    // The sender's standing comes with it: enabled, then disabled.
    await sql("INSERT INTO senders (sender_id, name, active, created_at, updated_at) VALUES (?,?,?,?,?)", [
      "s1",
      "S",
      1,
      iso(T0),
      iso(T0),
    ]);
    equal((await t.leaseOf(id))?.active, 1);
    await sql("UPDATE senders SET active = 0 WHERE sender_id = ?", ["s1"]);
    equal((await t.leaseOf(id))?.active, 0);
    equal(await t.leaseOf(424242), undefined);
  },
);

backendTest("transaction store: the attempt history keeps the last 50 and counts the dropped", async (s) => {
  const t = s.transactions;
  const { row: { id } } = await t.insert(newTxn("s1", "tx-1"));
  await processed(s, id);
  for (let i = 0; i < 52; i++) {
    ok(await t.claimCallback(id, "w", iso(T0 + i), iso(T0 + i + 1)));
    const failure = { error: `e${i}` };
    ok(
      await t.scheduleRetry(
        id,
        "w",
        { failure, nextAt: iso(T0 + i + 1), now: iso(T0 + i) },
        attempt("retry", T0),
      ),
    );
  }
  const h = await t.attempts(id);
  equal(h.attempts.length, 50);
  equal(h.omitted, 2);
  equal(h.attempts[0].attempt, 3);
  deepEqual(await t.attempts(999), { attempts: [], omitted: 0 });
});

backendTest(
  "transaction store: the list filtered by a state and a sender, registry or action answers the same rows whichever index reads them",
  async (s, sql) => {
    const t = s.transactions;
    const states: Record<string, string> = {};
    for (let i = 0; i < 12; i++) {
      const sender = i % 3 === 0 ? "a" : "b";
      const txn = `tx-${i}`;
      await t.insert(newTxn(sender, txn, i));
      states[txn] = i % 2 === 0 ? "callback_failed" : i % 5 === 0 ? "pending" : "callback_sent";
      await sql("UPDATE transactions SET state = ? WHERE transaction_id = ?", [states[txn], txn]);
    }
    const listed = async (f: Record<string, unknown>) =>
      (await t.list({ limit: 50, ...f })).map((r) => r.transaction_id);
    // Newest first: a's transactions are 0, 3, 6, 9; the failed ones the even ones.
    deepEqual(await listed({ state: "callback_failed", senderId: "a" }), ["tx-6", "tx-0"]);
    deepEqual(await listed({ state: "callback_failed", senderId: "b" }), ["tx-10", "tx-8", "tx-4", "tx-2"]);
    deepEqual(await listed({ state: "callback_failed", registry: "social" }), [
      "tx-10",
      "tx-8",
      "tx-6",
      "tx-4",
      "tx-2",
      "tx-0",
    ]);
    deepEqual(await listed({ state: "callback_failed", registry: "crvs" }), []);
    deepEqual(await listed({ state: "pending", senderId: "b" }), ["tx-5"]);
    deepEqual(await listed({ state: "callback_sent", senderId: "a" }), ["tx-9", "tx-3"]);
    deepEqual(await listed({ state: "callback_failed", senderId: "a", limit: 1 }), ["tx-6"]);
  },
);
