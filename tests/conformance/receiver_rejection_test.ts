/**
 * A receiver that answers HTTP 2xx with `ack_status: "ERR"` has rejected the delivery (issue 12 §4): recorded
 * with its code, not counted as sent, retried only when the code is transient (err.service.unavailable,
 * err.request.timeout, err.request.too_many_requests), visible in `txn show`, the notification log and metrics;
 * the receiver's own error message is never kept, logged or shown.
 */
import assert from "node:assert/strict";
import {
  ack,
  errAck,
  partnerHarness,
  searchMessage,
  startPartnerReceiver,
  subscribeMessage,
} from "./partner.ts";
import { person, putPerson } from "../subscriptions/helpers.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { detail } from "../../src/transactions/operations.ts";

Deno.test("callback answered 200 with ERR: a permanent code fails at once with the code, a transient one is retried, then sent", async () => {
  const h = await partnerHarness();
  const rx = startPartnerReceiver();
  try {
    const s = await h.sender({ callback_base_url: rx.url });
    const accept = async (t: string) => {
      const r = await h.post(
        "/registry/search",
        s,
        h.envelope(s, searchMessage(t), { total_count: 1 }),
        "sign",
      );
      return (r.body.message as { correlation_id: string }).correlation_id;
    };
    rx.respond = (hit) =>
      (hit.body.message as { transaction_id: string }).transaction_id === "t-bad"
        ? { status: 200, body: errAck("err.request.bad") }
        : { status: 200, body: errAck("err.service.unavailable") };
    const bad = await accept("t-bad");
    const busy = await accept("t-busy");
    await h.drain();

    const rejected = (await h.deps.storage.transactions.getByCorrelationId(bad))!;
    assert.equal(rejected.state, "callback_failed", "not counted as sent, not retried");
    assert.equal(rejected.attempts, 1);
    assert.equal(rejected.receiver_code, "err.request.bad");
    const shown = await detail(h.deps, rejected);
    assert.equal(shown.receiver_code, "err.request.bad", "txn show has the code");
    assert.match(
      String(shown.last_error),
      /rejected the delivery: HTTP 200 with ack_status ERR err\.request\.bad/,
    );

    let retried = (await h.deps.storage.transactions.getByCorrelationId(busy))!;
    assert.equal(retried.state, "succeeded", "a transient code is retried");
    assert.equal(retried.receiver_code, "err.service.unavailable");
    rx.respond = () => ({ status: 200, body: ack() });
    h.deps.clock.advance(1000);
    await h.drain();
    retried = (await h.deps.storage.transactions.getByCorrelationId(busy))!;
    assert.equal(retried.state, "callback_sent");
    assert.equal(retried.receiver_code, null);

    const viaApi = (await h.admin("GET", `/transactions/${bad}`)).text;
    assert.equal(JSON.parse(viaApi).receiver_code, "err.request.bad");
    assert.ok(!viaApi.includes("RECEIVER-SECRET-DETAIL"), "the receiver's message is never shown");
    assert.ok(!h.logs.some((l) => l.includes("RECEIVER-SECRET-DETAIL")), "nor logged");
    const metrics = h.deps.metrics.render();
    assert.match(metrics, /dci_receiver_rejections_total\{kind="callback",code="err\.request\.bad"\} 1/);
    assert.match(
      metrics,
      /dci_receiver_rejections_total\{kind="callback",code="err\.service\.unavailable"\} 1/,
    );
  } finally {
    await rx.close();
    h.close();
  }
});

Deno.test("notification answered 200 with ERR: marked failed with the code in the notification log; NACK and a long or non-JSON 2xx body are delivered", async () => {
  const h = await partnerHarness();
  const rx = startPartnerReceiver();
  try {
    const s = await h.sender({ callback_base_url: rx.url, auto_approve_subscriptions: true });
    const sub = h.envelope(s, subscribeMessage("t-sub"), { action: "subscribe", total_count: 1 });
    assert.equal((await h.post("/registry/subscribe", s, sub, "sign")).status, 202);
    await h.drain();

    const answers = [
      { status: 200, body: { message: { ack_status: "NACK", timestamp: new Date().toISOString() } } },
      { status: 202, body: "x".repeat(100_000) },
      { status: 200, body: errAck("err.signature.invalid") },
    ];
    rx.respond = (hit) => hit.path.endsWith("/notify") ? answers.shift()! : { status: 200, body: ack() };
    for (const id of ["N1", "N2", "N3"]) await putPerson(h.deps, person(id));
    await runNotifierOnce(h.deps, { random: () => 0.5 });

    const log = (await h.deps.storage.notifications.list({ sender: s.senderId })).reverse();
    assert.deepEqual(log.map((n) => [n.status, n.receiver_code]), [
      ["sent", null],
      ["sent", null],
      ["failed", "err.signature.invalid"],
    ]);
    assert.equal(log[2].attempts, 1, "a permanent rejection is not retried");
    assert.ok(!String(log[2].last_error).includes("RECEIVER-SECRET-DETAIL"));
    assert.match(
      h.deps.metrics.render(),
      /dci_receiver_rejections_total\{kind="notification",code="err\.signature\.invalid"\} 1/,
    );
  } finally {
    await rx.close();
    h.close();
  }
});

Deno.test("a receiver's invented ERR code is recorded only when it is a safe short code, and counted as other", async () => {
  const h = await partnerHarness();
  const rx = startPartnerReceiver();
  try {
    const s = await h.sender({ callback_base_url: rx.url });
    const codes = ["err.partner.custom", "<script>alert(1)</script>"];
    rx.respond = () => ({ status: 200, body: errAck(codes.shift()!) });
    const ids: string[] = [];
    for (const t of ["t-1", "t-2"]) {
      const r = await h.post(
        "/registry/search",
        s,
        h.envelope(s, searchMessage(t), { total_count: 1 }),
        "sign",
      );
      ids.push((r.body.message as { correlation_id: string }).correlation_id);
    }
    await h.drain();
    assert.deepEqual(
      await Promise.all(
        ids.map(async (id) => (await h.deps.storage.transactions.getByCorrelationId(id))!.receiver_code),
      ),
      [
        "err.partner.custom",
        "err.unknown",
      ],
    );
    assert.match(h.deps.metrics.render(), /dci_receiver_rejections_total\{kind="callback",code="other"\} 2/);
  } finally {
    await rx.close();
    h.close();
  }
});
