/**
 * The history of callback attempts (issue 15: the transaction detail shows every callback attempt with its error):
 * one row per attempt with its HTTP status, the receiver's ERR code and the error, in order, through the admin API
 * (as its OpenAPI document says); an operator retry adds attempts after the earlier ones; the outbound bearer
 * token is never stored; the last CALLBACK_ATTEMPTS_KEPT are kept; deleting the transaction deletes them.
 */
import assert from "node:assert/strict";
import { ack, errAck, partnerHarness, searchMessage, startPartnerReceiver } from "../conformance/partner.ts";
import { CALLBACK_ATTEMPTS_KEPT, listAttempts, recordAttempt } from "../../src/transactions/attempts.ts";
import { detail } from "../../src/transactions/operations.ts";
import { AnswerChecker } from "../operations/openapi_support.ts";
import { TEST_BACKEND, testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { saveBareTransaction } from "./support.ts";

const TOKEN = "outbound-bearer-token-must-never-be-stored-0123";

/** Answers each DCI request with the next scripted answer (the last one repeats). */
function script(...answers: Array<{ status: number; body?: unknown }>) {
  let i = 0;
  return () => answers[Math.min(i++, answers.length - 1)];
}

/** Drains the queue, advancing the fake clock past each retry delay, `rounds` times. */
async function drainRetries(h: Awaited<ReturnType<typeof partnerHarness>>, rounds = 6): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await h.drain();
    h.deps.clock.advance(600_000);
  }
}

Deno.test("callback attempts: a 500, then a 2xx ERR with a code, then an ACK → three attempts in order in the admin API; the bearer token is never stored", async () => {
  const h = await partnerHarness();
  const rx = startPartnerReceiver({ bearer: TOKEN });
  try {
    const s = await h.sender({
      callback_base_url: `${rx.url}/dci/callback`,
      callback_url_mode: "exact",
      outbound_auth: { type: "bearer", token: TOKEN },
    });
    rx.respond = script(
      { status: 500, body: { detail: "boom" } },
      { status: 200, body: errAck("err.service.unavailable", `RECEIVER-DETAIL ${TOKEN}`) },
      { status: 200, body: ack() },
    );
    const r = await h.post(
      "/registry/search",
      s,
      h.envelope(s, searchMessage("t-hist"), { total_count: 1 }),
      "sign",
    );
    assert.equal(r.status, 202);
    const corr = (r.body.message as { correlation_id: string }).correlation_id;
    await drainRetries(h);
    assert.equal((await h.deps.storage.transactions.getByCorrelationId(corr))!.state, "callback_sent");
    assert.equal(rx.hits.length, 3);

    const shown = await h.admin("GET", `/transactions/${corr}`);
    assert.equal(shown.status, 200);
    const attempts = shown.body.callback_attempts as Array<Record<string, unknown>>;
    assert.deepEqual(
      attempts.map((a) => [a.attempt, a.outcome, a.http_status, a.receiver_code, a.error]),
      [
        [1, "retry", 500, null, "HTTP 500 from callback URL"],
        [
          2,
          "retry",
          200,
          "err.service.unavailable",
          "callback URL rejected the delivery: HTTP 200 with ack_status ERR err.service.unavailable",
        ],
        [3, "sent", 200, null, null],
      ],
    );
    assert.equal(shown.body.callback_attempts_omitted, 0);
    for (const a of attempts) {
      assert.equal(a.url, `${rx.url}/dci/callback`);
      assert.equal(typeof a.duration_ms, "number");
      assert.ok((a.duration_ms as number) >= 0);
      assert.match(String(a.started_at), /^\d{4}-\d\d-\d\dT/);
    }
    assert.ok(attempts[0].started_at! < attempts[1].started_at!, "started_at follows the retries");

    // The answer matches the admin API's OpenAPI document (the CallbackAttempt schema).
    const doc = await (await h.app.request("/dci_api/v1/openapi.json")).json();
    assert.deepEqual(
      new AnswerChecker(doc).errors("GET", `/admin/v1/transactions/${corr}`, 200, shown.body),
      [],
    );

    // Every request carried the token; no stored attempt, and no shown detail, holds it or the receiver's text.
    assert.ok(rx.hits.every((x) => x.authorization === `Bearer ${TOKEN}`));
    const stored = JSON.stringify(await h.deps.sql("SELECT * FROM callback_attempts"));
    assert.ok(!stored.includes(TOKEN), stored);
    assert.ok(!stored.includes("RECEIVER-DETAIL"), stored);
    assert.ok(!shown.text.includes(TOKEN));
  } finally {
    await rx.close();
    h.close();
  }
});

Deno.test("callback attempts: an operator retry adds attempts after the earlier ones; deleting the transaction deletes them", async () => {
  const h = await partnerHarness({ callbackRetryDelaysMs: "100,200" });
  const rx = startPartnerReceiver();
  try {
    const s = await h.sender({ callback_base_url: rx.url });
    rx.respond = () => ({ status: 503 });
    const r = await h.post(
      "/registry/search",
      s,
      h.envelope(s, searchMessage("t-retry"), { total_count: 1 }),
      "sign",
    );
    const corr = (r.body.message as { correlation_id: string }).correlation_id;
    await drainRetries(h);
    const failed = (await h.deps.storage.transactions.getByCorrelationId(corr))!;
    assert.equal(failed.state, "callback_failed");
    assert.deepEqual(
      (await detail(h.deps, failed)).callback_attempts.map((a) =>
        `${a.attempt} ${a.outcome} ${a.http_status}`
      ),
      ["1 retry 503", "2 retry 503", "3 failed 503"],
    );

    rx.respond = () => ({ status: 200, body: ack() });
    assert.equal((await h.admin("POST", `/transactions/${corr}/retry`)).status, 202);
    await drainRetries(h, 2);
    const sent = (await h.deps.storage.transactions.getByCorrelationId(corr))!;
    assert.equal(sent.state, "callback_sent");
    assert.equal(sent.attempts, 1, "the retry has a fresh attempt budget");
    const after = (await detail(h.deps, sent)).callback_attempts;
    assert.deepEqual(after.map((a) => `${a.attempt} ${a.outcome} ${a.http_status}`), [
      "1 retry 503",
      "2 retry 503",
      "3 failed 503",
      "4 sent 200",
    ]);

    // However a transaction goes (a retention job, an operator), its attempts go with it.
    await h.deps.sql("DELETE FROM transactions WHERE id = ?", [sent.id]);
    assert.deepEqual(await h.deps.storage.transactions.attempts(sent.id), { attempts: [], omitted: 0 });
    assert.equal(Number((await h.deps.sql("SELECT COUNT(*) AS n FROM callback_attempts"))[0].n), 0);
  } finally {
    await rx.close();
    h.close();
  }
});

Deno.test({
  name:
    "recordAttempt() keeps the last CALLBACK_ATTEMPTS_KEPT attempts of a transaction and counts the rest; never a URL's userinfo",
  // A unit of the embedded SQLite store's recordAttempt(db); the PostgreSQL store bounds attempts in its own
  // statements (src/transactions/pg_store.ts), which the callback-attempt cases above reach through the worker.
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const now = new Date(deps.clock.now()).toISOString();
    const txn = (t: string) => saveBareTransaction(deps, alice.senderId, t, now);
    const [busy, other] = [await txn("t-busy"), await txn("t-other")];
    const attempt = (n: number) => ({
      started_at: now,
      duration_ms: n,
      url: "https://user:pw@receiver.example/cb",
      outcome: "retry" as const,
      http_status: 503,
      receiver_code: null,
      error: "x".repeat(2000),
    });
    const total = CALLBACK_ATTEMPTS_KEPT + 10;
    for (let n = 1; n <= total; n++) assert.equal(recordAttempt(deps.db, busy, attempt(n)), n);
    recordAttempt(deps.db, other, attempt(1));

    const kept = listAttempts(deps.db, busy);
    assert.equal(kept.attempts.length, CALLBACK_ATTEMPTS_KEPT);
    assert.equal(kept.omitted, 10);
    assert.deepEqual(
      [kept.attempts[0].attempt, kept.attempts.at(-1)!.attempt],
      [11, total],
      "the oldest are dropped",
    );
    assert.equal(kept.attempts[0].url, "https://receiver.example/cb", "userinfo never stored");
    assert.equal(kept.attempts[0].error!.length, 500, "the error text is bounded");
    assert.equal(listAttempts(deps.db, other).attempts.length, 1, "another transaction's history is its own");
  } finally {
    deps.close();
  }
});
