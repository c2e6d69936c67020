/**
 * A callback that found no free outbound slot in time (the destination's slots held by other work) was never sent:
 * no attempt is counted or recorded in its history, its claim is released, and it goes out once when a slot frees.
 */
import assert from "node:assert/strict";
import { createTestSender } from "../helpers/auth.ts";
import { testDeps } from "../helpers/deps.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { createApp } from "../helpers/app.ts";
import { holdSlot, startGatedReceiver } from "../helpers/gated_receiver.ts";
import { searchMessage } from "./support.ts";
import { createWorker as createTxnWorker } from "../../src/actions/worker.ts";
import { memoryQueue } from "../../src/jobs/queue.ts";

Deno.test("worker: a callback that found no free outbound slot in time is no attempt, and goes out once a slot frees", async () => {
  const deps = await testDeps({
    outboundAllow: "127.0.0.1",
    outboundPerDestination: "1",
    // The slot's wait as long as the delivery's once it frees (a loaded machine's loopback round trip included).
    outboundTimeoutMs: "3000",
  });
  deps.queue = memoryQueue(deps.clock);
  const rx = startGatedReceiver();
  try {
    const app = createApp(deps);
    const worker = createTxnWorker(deps, { random: () => 0.5 });
    const alice = await createTestSender(deps);
    const env = requestEnvelope(alice.senderId, searchMessage("slot-wait"), {
      nowMs: deps.clock.now(),
      totalCount: 1,
      header: { sender_uri: rx.url },
    });
    const ack = await app.request("/registry/search", {
      method: "POST",
      headers: { "content-type": "application/json", ...alice.headers() },
      body: JSON.stringify(alice.sign(env, deps.clock.now())),
    });
    assert.equal(ack.status, 202);
    const correlationId = (await ack.json()).message.correlation_id;
    const id = (await deps.storage.transactions.getByCorrelationId(correlationId))!.id;
    // Another request (a notification, a JWKS fetch) holds the destination's one outbound slot.
    const hung = (await holdSlot(deps.http, rx)).done;
    await worker.handle(id);
    const waited = (await deps.storage.transactions.getByCorrelationId(correlationId))!;
    assert.deepEqual([waited.state, waited.attempts, waited.lease_owner], ["succeeded", 0, null]);
    assert.deepEqual(
      (await deps.storage.transactions.attempts(id)).attempts,
      [],
      "no attempt in its history",
    );
    assert.equal(rx.delivered.length, 0);
    rx.open();
    assert.equal(await hung, 200);
    await worker.handle(id);
    const sent = (await deps.storage.transactions.getByCorrelationId(correlationId))!;
    assert.deepEqual([sent.state, sent.attempts], ["callback_sent", 1]);
    assert.deepEqual(
      (await deps.storage.transactions.attempts(id)).attempts.map((a) => [a.attempt, a.outcome, a.error]),
      [[1, "sent", null]],
    );
    assert.deepEqual(rx.delivered.map((d) => [d.path, d.id]), [["/registry/on-search", "slot-wait"]]);
  } finally {
    await rx.close();
    deps.close();
  }
});
