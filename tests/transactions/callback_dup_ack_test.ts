/**
 * At-least-once delivery meets a receiver that applies DCI's replay rule: the first attempt reaches it but its
 * answer comes after our timeout, so the server sends again under the same message_id and the receiver answers
 * `rjct.message_id.duplicate`. The callback is delivered (callback_sent, the attempt says the receiver already had
 * it), as the notification is (sent, not failed), for a 2xx ERR ACK and for a 409 with the code.
 */
import assert from "node:assert/strict";
import { partnerHarness, searchMessage, subscribeMessage } from "../conformance/partner.ts";
import { person, putPerson } from "../subscriptions/helpers.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";

/** The spec's code for a message_id the receiver has already seen. */
const DUPLICATE = "rjct.message_id.duplicate";

/**
 * Our side's timeout (ms): the receiver's first answer never comes before it (it waits for the receiver's close);
 * long enough for the duplicate's answer, given at once, to arrive on a loaded machine.
 */
const TIMEOUT_MS = 1000;

/**
 * A deduplicating loopback receiver of `action`'s envelopes: the first receipt of a message_id is kept and
 * answered ACK too late (only at the receiver's close, long after TIMEOUT_MS); a repeated one gets `duplicate`
 * (status and body). Other actions' get an ACK at once.
 */
function startDedupReceiver(action: string, duplicate: { status: number; body: unknown }) {
  const seen: string[] = [];
  const closing = Promise.withResolvers<void>();
  // A backstop far past TIMEOUT_MS: were our timeout not kept, the first attempt ends here, ACKed, and the asserts
  // on the attempts fail instead of the test waiting for ever.
  const backstop = setTimeout(closing.resolve, 20_000);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body = await req.json();
    if (body.header.action !== action) return Response.json({ message: { ack_status: "ACK" } });
    const id = body.header.message_id as string;
    const first = !seen.includes(id);
    seen.push(id);
    if (!first) return Response.json(duplicate.body, { status: duplicate.status });
    await closing.promise;
    return Response.json({ message: { ack_status: "ACK" } });
  });
  const close = () => {
    clearTimeout(backstop);
    closing.resolve();
    return server.shutdown();
  };
  return { url: `http://127.0.0.1:${server.addr.port}`, seen, close };
}

/** The receiver's duplicate answers: a 2xx ERR ACK, and a 409 carrying the code. */
const DUPLICATE_ANSWERS = [
  {
    name: "HTTP 200 ERR ACK",
    status: 200,
    body: { message: { ack_status: "ERR", error: { code: DUPLICATE, message: "RECEIVER-DETAIL" } } },
  },
  {
    name: "HTTP 409",
    status: 409,
    body: { message: { ack_status: "ERR", error: { code: DUPLICATE, message: "RECEIVER-DETAIL" } } },
  },
];

for (const answer of DUPLICATE_ANSWERS) {
  Deno.test(`callback: a re-send the receiver answers as a duplicate (${answer.name}) is delivered, and its attempt says the receiver already had it`, async () => {
    const h = await partnerHarness({
      outboundTimeoutMs: String(TIMEOUT_MS),
      callbackRetryDelaysMs: "1000,1000",
    });
    const rx = startDedupReceiver("on-search", answer);
    try {
      const s = await h.sender({ callback_base_url: rx.url, callback_url_mode: "exact" });
      const r = await h.post(
        "/registry/search",
        s,
        h.envelope(s, searchMessage("t-dup"), { total_count: 1 }),
        "sign",
      );
      assert.equal(r.status, 202);
      const corr = (r.body.message as { correlation_id: string }).correlation_id;
      for (let i = 0; i < 3; i++) {
        await h.drain();
        h.deps.clock.advance(1500);
      }
      assert.ok(rx.seen.length >= 2, "the first attempt and a re-send");
      assert.ok(rx.seen.every((id) => id === rx.seen[0]), "every attempt under the first one's message_id");
      const txn = (await h.deps.storage.transactions.getByCorrelationId(corr))!;
      assert.equal(txn.state, "callback_sent", `${txn.state}: ${txn.last_error}`);

      const shown = await h.admin("GET", `/transactions/${corr}`);
      const attempts = shown.body.callback_attempts as Array<Record<string, unknown>>;
      assert.deepEqual(
        attempts.map((a) => [a.attempt, a.outcome, a.http_status, a.receiver_code]),
        [[1, "retry", null, null], [2, "sent", answer.status, DUPLICATE]],
      );
      assert.equal(attempts[1].error, null);
      const said = h.logs.filter((l) => l.includes("the receiver already had this message"));
      assert.equal(said.length, 1);
      assert.ok(said[0].includes(corr), said[0]);
      assert.ok(!h.logs.some((l) => l.includes("RECEIVER-DETAIL")), "the receiver's message is never logged");
    } finally {
      await rx.close();
      h.close();
    }
  });
}

Deno.test("notification: a re-send the receiver answers as a duplicate (HTTP 409) is sent, not failed", async () => {
  const h = await partnerHarness({ outboundTimeoutMs: String(TIMEOUT_MS), callbackRetryDelaysMs: "1000" });
  const rx = startDedupReceiver("notify", DUPLICATE_ANSWERS[1]);
  try {
    const s = await h.sender({
      callback_base_url: rx.url,
      callback_url_mode: "exact",
      auto_approve_subscriptions: true,
    });
    const sub = h.envelope(s, subscribeMessage("t-sub-dup"), { action: "subscribe", total_count: 1 });
    assert.equal((await h.post("/registry/subscribe", s, sub, "sign")).status, 202);
    await h.drain();
    await putPerson(h.deps, person("N-dup"));
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    h.deps.clock.advance(1500);
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    const notifies = rx.seen;
    // At least once is the contract: the first attempt and the scheduled re-send.
    assert.ok(notifies.length >= 2, "the first attempt and a re-send");
    assert.ok(notifies.every((id) => id === notifies[0]), "every attempt under the first one's message_id");
    const [n] = await h.deps.storage.notifications.list();
    assert.equal(n.status, "sent", `${n.status}: ${n.last_error}`);
    assert.equal(n.message_id, notifies[0]);
    assert.equal(
      h.logs.filter((l) => l.includes("notification URL: the receiver already had this message")).length,
      1,
    );
  } finally {
    await rx.close();
    h.close();
  }
});
