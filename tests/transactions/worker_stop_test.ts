/**
 * A stopping worker takes no more work and lets the steps under way end (within its grace) before the server
 * closes its outbound connections and database: a clean stop cuts no callback that ends in time.
 */
import assert from "node:assert/strict";
import { harness, searchMessage } from "./support.ts";
import { createWorker } from "../../src/actions/worker.ts";

Deno.test("worker.stop(): the callback under way ends and is recorded; nothing is claimed after the stop", async () => {
  const h = await harness();
  try {
    const request = h.http.request.bind(h.http);
    let sending: () => void = () => {};
    const sent = new Promise<void>((resolve) => sending = resolve);
    h.http.request = async (url, init) => {
      sending();
      await new Promise((r) => setTimeout(r, 300)); // a receiver that takes its time
      return await request(url, init);
    };
    const first = await h.post("/registry/search", searchMessage("t-1"));
    assert.equal(first.status, 202);
    const draining = h.drain();
    await sent; // the callback is on its way
    const stopped = h.worker.stop(2000);
    const second = await h.post("/registry/search", searchMessage("t-2"));
    assert.equal(second.status, 202);
    await stopped;
    await draining;
    await h.drain();
    const state = async (ack: { body: Record<string, unknown> }) =>
      (await h.deps.storage.transactions.getByCorrelationId(
        (ack.body.message as { correlation_id: string }).correlation_id,
      ))?.state;
    assert.equal(await state(first), "callback_sent", "the callback under way finished and was recorded");
    assert.equal(h.http.sent.length, 1);
    assert.equal(await state(second), "pending", "no claim after the stop: the next start's sweep takes it");
  } finally {
    h.close();
  }
});

Deno.test("createWorker(): a processor given as undefined (a deployment's switch left off) keeps the stock one", async () => {
  const h = await harness();
  try {
    const worker = createWorker(h.deps, { processors: { search: undefined } });
    const ack = await h.post("/registry/search", searchMessage("t-1"));
    assert.equal(ack.status, 202);
    await h.deps.queue.deliverDue((m) => worker.handle(Number(m.id)));
    const row = await h.deps.storage.transactions.getByCorrelationId(
      (ack.body.message as { correlation_id: string }).correlation_id,
    );
    assert.equal(row?.state, "callback_sent", JSON.stringify(row?.process_error));
  } finally {
    h.close();
  }
});
