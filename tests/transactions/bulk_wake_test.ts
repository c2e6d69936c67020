/**
 * A bulk run whose page waits for a retry lets go of its slot and lease; it asks for a wake-up at the page's retry
 * time, so it resumes then without waiting for the due-work poll. Real parts: the worker's bulk runner, its stores
 * (SQLite, or PostgreSQL with --pg), the memory queue and a fake clock; a scripted HTTP edge.
 */
import assert from "node:assert/strict";
import { harness, type Json, storeBulkSearch } from "./support.ts";
import { BULK_WAIT_IN_PLACE_MS } from "../../src/transactions/bulk_runner.ts";

Deno.test("bulk search: a run whose page waits for its retry is woken at the retry's time", async () => {
  const retryMs = 60_000;
  const h = await harness({ callbackRetryDelaysMs: String(retryMs) }, { script: [503] });
  try {
    assert.ok(retryMs > BULK_WAIT_IN_PLACE_MS, "the run lets go of its slot rather than wait in place");
    const id = await storeBulkSearch(h, "bulk-wake", 1);
    await h.worker.handle(id); // the page is refused once: the run waits for its retry
    const row = (await h.deps.storage.transactions.get(id))!;
    assert.equal(row.state, "processing");
    assert.equal(row.lease_owner, null, "the lease is let go");
    const wakes = h.deps.queue.waiting.filter((w) => w.message.kind === "txn" && w.message.id === String(id));
    assert.equal(wakes.length, 1, "a wake-up is queued for the run");
    assert.equal(wakes[0].dueAt, Date.parse(row.lease_until!), "due when the page's retry is");
    assert.ok(wakes[0].dueAt - h.deps.clock.now() >= retryMs / 2);

    assert.equal(await h.drain(), 0, "nothing before its time");
    h.deps.clock.advance(wakes[0].dueAt - h.deps.clock.now());
    assert.equal(await h.drain(), 1);
    assert.equal((await h.deps.storage.transactions.get(id))!.state, "callback_sent");
    assert.equal(h.http.sent.length, 2, "the page: refused, then taken");
    const messageIds = h.http.sent.map((s) => (s.body.header as Json).message_id);
    assert.equal(messageIds[0], messageIds[1], "the same page: the same message_id");
  } finally {
    h.close();
  }
});
