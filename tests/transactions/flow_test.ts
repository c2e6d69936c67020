import assert from "node:assert/strict";
import { harness, searchMessage, verifyWithJwks } from "./support.ts";
import { OutboundError } from "../../src/net/outbound.ts";
import { countCalls } from "../helpers/call_counts.ts";
import { canonicalMessage } from "../../src/dci/envelope.ts";
import { TXN_KIND } from "../../src/transactions/worker.ts";

Deno.test("POST /registry/search answers 202 ACK and the worker POSTs a signed on-search callback", async () => {
  const h = await harness();
  try {
    const res = await h.post("/registry/search", searchMessage("t-1", 2));
    assert.equal(res.status, 202);
    const ack = res.body.message as Record<string, string>;
    assert.equal(ack.ack_status, "ACK");
    // The ACK does not wait for the queue (accept.ts wakeWorker): the row is marked pending once it is enqueued,
    // which on PostgreSQL may come just after the answer.
    const stored = () => h.deps.storage.transactions.getByCorrelationId(ack.correlation_id);
    const deadline = performance.now() + 20_000;
    while ((await stored())?.state === "received" && performance.now() < deadline) {
      await new Promise((r) => setTimeout(r, 5));
    }
    const row = (await stored())!;
    assert.equal(row.state, "pending");
    assert.equal(row.sender_id, h.alice.senderId);
    assert.equal(row.callback_url, "https://alice.example/cb/registry/on-search");
    assert.equal(await h.drain(), 1);
    assert.equal(h.http.sent.length, 1);
    const sent = h.http.sent[0];
    assert.equal(sent.url, "https://alice.example/cb/registry/on-search");
    assert.equal(sent.init.headers?.["X-DCI-Transaction-ID"], "t-1");
    const header = sent.body.header as Record<string, unknown>;
    assert.equal(header.action, "on-search");
    assert.equal(header.receiver_id, h.alice.senderId);
    const message = sent.body.message as Record<string, unknown>;
    assert.equal(message.correlation_id, ack.correlation_id);
    assert.equal((message.search_response as unknown[]).length, 2);
    assert.ok(verifyWithJwks(sent.body, await h.deps.keys.jwks() as never, h.deps.clock.now()));
    assert.equal(
      (await h.deps.storage.transactions.getByCorrelationId(ack.correlation_id))!.state,
      "callback_sent",
    );
  } finally {
    h.close();
  }
});

Deno.test("a repeated request (a new message_id) gets the stored ACK and is processed once", async () => {
  const h = await harness();
  try {
    const message = searchMessage("t-dup");
    const a = await h.post("/registry/search", message);
    const b = await h.post("/registry/search", message);
    assert.equal(a.status, 202);
    assert.equal(b.status, 202);
    assert.deepEqual(b.body, a.body);
    await h.drain();
    assert.equal(h.http.sent.length, 1);
    const [n] = await h.deps.sql("SELECT COUNT(*) AS n FROM transactions");
    assert.equal(Number(n.n), 1);
  } finally {
    h.close();
  }
});

Deno.test("one transaction_id for another request, or the same request to another registry, is a new transaction", async () => {
  const h = await harness();
  try {
    // The spec has a sender keep its transaction_id for every request of one exchange.
    const first = searchMessage("t-shared");
    const next = searchMessage("t-shared", 2);
    const acks = [
      await h.post("/registry/search", first),
      await h.post("/registry/search", next),
      await h.post("/dci_api/v1/crvs/registry/search", first),
    ].map((r) => (assert.equal(r.status, 202), (r.body.message as Record<string, string>).correlation_id));
    assert.equal(new Set(acks).size, 3);
    await h.drain();
    assert.deepEqual(h.http.sent.map((s) => s.url).sort(), [
      "https://alice.example/cb/registry/on-search",
      "https://alice.example/cb/registry/on-search",
      "https://alice.example/cb/registry/on-search",
    ]);
    const registries = await h.deps.sql("SELECT registry FROM transactions ORDER BY id");
    assert.deepEqual(registries.map((r) => r.registry), ["social", "social", "crvs"]);

    // A status query on one registry sees its own transactions under that id, not the other registry's.
    const status = async (path: string) => {
      const res = await h.post(path, {
        transaction_id: "t-status",
        txnstatus_request: {
          reference_id: "q-1",
          txn_type: "search",
          attribute_type: "transaction_id",
          attribute_value: "t-shared",
        },
      }, { action: "txn-status" });
      const answer = res.body.message as {
        txnstatus_response: { txn_status: { search_response: unknown[] } };
      };
      return answer.txnstatus_response.txn_status.search_response.length;
    };
    assert.equal(await status("/registry/sync/txn/status"), 3, "the two social searches' items: 1 + 2");
    assert.equal(await status("/dci_api/v1/crvs/registry/sync/txn/status"), 1);
  } finally {
    h.close();
  }
});

Deno.test("a redelivered message and concurrent handles do the work and the callback once", async () => {
  const h = await harness();
  try {
    const res = await h.post("/registry/search", searchMessage("t-race"));
    const row = (await h.deps.storage.transactions.getByCorrelationId(
      (res.body.message as Record<string, string>).correlation_id,
    ))!;
    await Promise.all([h.worker.handle(row.id), h.worker.handle(row.id), h.worker.handle(row.id)]);
    await h.drain();
    await h.worker.handle(row.id);
    assert.equal(h.http.sent.length, 1);
    assert.equal((await h.deps.storage.transactions.getByCorrelationId(row.correlation_id))!.attempts, 1);
  } finally {
    h.close();
  }
});

Deno.test("a failing receiver is retried with the configured delays, then callback_failed keeps the reason", async () => {
  const h = await harness({}, {
    script: [503, 500, new OutboundError("timeout", "no answer in 10000 ms"), 502],
  });
  try {
    const res = await h.post("/registry/search", searchMessage("t-fail"));
    const corr = (res.body.message as Record<string, string>).correlation_id;
    await h.drain();
    let row = (await h.deps.storage.transactions.getByCorrelationId(corr))!;
    assert.equal(row.state, "succeeded");
    assert.equal(row.attempts, 1);
    assert.equal(row.last_error, "HTTP 503 from callback URL");
    // testConfig delays are 100,200,400 ms; jitter 0.5 → exactly the configured delay.
    assert.equal(Date.parse(row.next_attempt_at!) - h.deps.clock.now(), 100);
    for (const step of [100, 200, 400]) {
      h.deps.clock.advance(step - 1);
      assert.equal(await h.drain(), 0, "nothing is delivered before the delay");
      h.deps.clock.advance(1);
      assert.equal(await h.drain(), 1);
    }
    row = (await h.deps.storage.transactions.getByCorrelationId(corr))!;
    assert.equal(h.http.sent.length, 4);
    assert.equal(row.state, "callback_failed");
    assert.equal(row.attempts, 4);
    assert.equal(row.last_error, "HTTP 502 from callback URL");
    const ids = new Set(h.http.sent.map((s) => (s.body.header as Record<string, string>).message_id));
    assert.equal(ids.size, 1, "a retried callback keeps its message_id");
    assert.match(h.deps.metrics.render(), /dci_txn_callbacks_total\{action="search",outcome="failed"\} 1/);
  } finally {
    h.close();
  }
});

Deno.test("a receiver down then up gets the callback on a retry", async () => {
  const h = await harness({}, { script: [new OutboundError("network", "connection refused")] });
  try {
    const res = await h.post("/registry/search", searchMessage("t-up"));
    const corr = (res.body.message as Record<string, string>).correlation_id;
    await h.drain();
    assert.equal(
      (await h.deps.storage.transactions.getByCorrelationId(corr))!.last_error,
      "network: connection refused",
    );
    h.deps.clock.advance(100);
    await h.drain();
    const row = (await h.deps.storage.transactions.getByCorrelationId(corr))!;
    assert.equal(row.state, "callback_sent");
    assert.equal(row.attempts, 2);
    assert.equal(row.last_error, null);
  } finally {
    h.close();
  }
});

Deno.test("a callback URL the guard blocks at delivery fails at once, without retries", async () => {
  const h = await harness({}, { script: [new OutboundError("blocked", "169.254.169.254 is link-local")] });
  try {
    const res = await h.post("/registry/search", searchMessage("t-blocked"));
    const corr = (res.body.message as Record<string, string>).correlation_id;
    await h.drain();
    const row = (await h.deps.storage.transactions.getByCorrelationId(corr))!;
    assert.equal(row.state, "callback_failed");
    assert.equal(row.attempts, 1);
    assert.match(row.last_error!, /^blocked: /);
    assert.equal(h.deps.queue.waiting.length, 0);
  } finally {
    h.close();
  }
});

Deno.test("subscribe and unsubscribe are accepted and called back at on-subscribe / on-unsubscribe", async () => {
  const h = await harness();
  try {
    const s = await h.post("/registry/subscribe", {
      transaction_id: "t-sub",
      subscribe_request: [{
        reference_id: "r1",
        timestamp: new Date().toISOString(),
        subscribe_criteria: {},
      }],
    });
    const u = await h.post("/registry/unsubscribe", {
      transaction_id: "t-unsub",
      timestamp: new Date().toISOString(),
      subscription_codes: ["c1"],
    });
    assert.equal(s.status, 202);
    assert.equal(u.status, 202);
    await h.drain();
    const [sub, unsub] = h.http.sent;
    assert.equal(sub.url, "https://alice.example/cb/registry/on-subscribe");
    assert.equal(sub.init.headers?.["X-DCI-Transaction-ID"], "t-sub");
    assert.equal((sub.body.header as Record<string, string>).action, "on-subscribe");
    const item =
      (sub.body.message as { subscribe_response: Array<Record<string, string>> }).subscribe_response[0];
    // Empty criteria: the subscriptions processor refuses the item, per item.
    assert.deepEqual([item.reference_id, item.status], ["r1", "rjct"]);
    assert.match(item.status_reason_code, /^rjct\./);
    assert.equal(unsub.url, "https://alice.example/cb/registry/on-unsubscribe");
    assert.equal((unsub.body.header as Record<string, string>).action, "on-unsubscribe");
    assert.equal((unsub.body.message as Record<string, string>).transaction_id, "t-unsub");
  } finally {
    h.close();
  }
});

Deno.test("async endpoints refuse a header.action of another endpoint and a missing callback URL", async () => {
  const h = await harness();
  try {
    const wrong = await h.post("/registry/search", searchMessage("t-x"), { action: "subscribe" });
    assert.equal(wrong.status, 400);
    // An async endpoint answers a header-level rejection with the ERR ACK, the code leading its message.
    assert.match(
      (wrong.body.message as { error: { message: string } }).error.message,
      /^rjct\.action\.invalid: /,
    );
    const bad = await h.post("/registry/search", searchMessage("t-y"), { senderUri: "ftp://alice.example/" });
    assert.equal(bad.status, 400);
    assert.equal((bad.body.message as { error: { code: string } }).error.code, "err.sender_uri.invalid");
    const [n] = await h.deps.sql("SELECT COUNT(*) AS n FROM transactions");
    assert.equal(Number(n.n), 0);
  } finally {
    h.close();
  }
});

Deno.test("a request without a bearer token is refused before anything is stored", async () => {
  const h = await harness();
  try {
    const res = await h.app.request("/registry/search", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ header: { sender_id: h.alice.senderId }, message: searchMessage("t-z") }),
    });
    assert.equal(res.status, 401);
    const [n] = await h.deps.sql("SELECT COUNT(*) AS n FROM transactions");
    assert.equal(Number(n.n), 0);
  } finally {
    h.close();
  }
});

Deno.test("an async search: accept reads its sender once; the worker its row once, the callback's last check is one statement", async () => {
  const h = await harness();
  try {
    const calls = new Map<string, number>();
    countCalls(h.deps.storage.senders, "senders", calls);
    countCalls(h.deps.storage.transactions, "transactions", calls);
    const res = await h.post("/registry/search", searchMessage("t-reads", 3));
    assert.equal(res.status, 202);
    // Its leniencies and its callback URL from one read.
    assert.equal(calls.get("senders.get"), 1);
    calls.clear();
    assert.equal(await h.drain(), 1);
    assert.equal(h.http.sent.length, 1);
    // The row is wide (request and result): its second read after processing stored the result was redundant.
    assert.equal(calls.get("transactions.get"), 1);
    // The hold right before the callback reads the lease and the sender's standing together; the only other
    // standing read is the worker's before it processes.
    assert.equal(calls.get("transactions.leaseOf"), 1);
    assert.equal(calls.get("senders.standing"), 1);
    const cid = (res.body.message as Record<string, string>).correlation_id;
    assert.equal((await h.deps.storage.transactions.getByCorrelationId(cid))!.state, "callback_sent");
  } finally {
    h.close();
  }
});

Deno.test("the result is stored apart as the canonical text the callback sends; a result stored before as plain JSON is made canonical", async () => {
  const h = await harness();
  try {
    const res = await h.post("/registry/search", searchMessage("t-canon", 2));
    const cid = (res.body.message as Record<string, string>).correlation_id;
    assert.equal(await h.drain(), 1);
    const row = (await h.deps.storage.transactions.getByCorrelationId(cid))!;
    assert.equal(row.result_canonical, 1);
    assert.equal(row.result, canonicalMessage(JSON.parse(row.result!)));
    // In its own table: the transaction's row (rewritten whole by each state change) does not carry it.
    const [stored] = await h.deps.sql(
      "SELECT r.result, t.legacy_result FROM transactions t JOIN transaction_results r ON r.txn = t.id WHERE t.id = ?",
      [row.id],
    );
    assert.equal(stored.result, row.result);
    assert.equal(stored.legacy_result, null);
    // The callback carries the stored text itself, and its signature holds.
    const sent = h.http.sent[0];
    assert.ok(sent.init.body!.endsWith(`"message":${row.result}}`));
    assert.ok(verifyWithJwks(sent.body, await h.deps.keys.jwks() as never, h.deps.clock.now()));

    // A row stored before migration 0032: plain JSON, keys in reverse order, a non-ASCII reference, due again.
    const reversed = (v: unknown): unknown =>
      Array.isArray(v)
        ? v.map(reversed)
        : v && typeof v === "object"
        ? Object.fromEntries(Object.entries(v).reverse().map(([k, x]) => [k, reversed(x)]))
        : v;
    const legacy = reversed(JSON.parse(row.result!)) as { search_response: Array<{ reference_id: string }> };
    legacy.search_response[0].reference_id = "réf-ü";
    await h.deps.sql("DELETE FROM transaction_results WHERE txn = ?", [row.id]);
    await h.deps.sql(
      `UPDATE transactions SET legacy_result = ?, state = 'succeeded', next_attempt_at = ?, completed_at = NULL
       WHERE id = ?`,
      [JSON.stringify(legacy), new Date(h.deps.clock.now()).toISOString(), row.id],
    );
    const before = (await h.deps.storage.transactions.get(row.id))!;
    assert.equal(before.result_canonical, 0);
    assert.equal(before.result, JSON.stringify(legacy));
    await h.deps.queue.enqueue({ kind: TXN_KIND, id: String(row.id) });
    await h.drain();
    assert.equal(h.http.sent.length, 2);
    const again = h.http.sent[1];
    assert.deepEqual(again.body.message, legacy);
    assert.ok(again.init.body!.endsWith(`"message":${canonicalMessage(legacy)}}`));
    assert.ok(verifyWithJwks(again.body, await h.deps.keys.jwks() as never, h.deps.clock.now()));
  } finally {
    h.close();
  }
});
