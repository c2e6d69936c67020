/**
 * A bulk run whose page waits for a retry lets go of its slot and lease; it asks for a wake-up at the page's retry
 * time, so it resumes then without waiting for the due-work poll. Real parts: the worker's bulk runner, its stores
 * (SQLite, or PostgreSQL with --pg), the memory queue and a fake clock; a scripted HTTP edge.
 */
import assert from "node:assert/strict";
import { type Harness, harness, type Json } from "./support.ts";
import { BULK_WAIT_IN_PLACE_MS } from "../../src/transactions/bulk_runner.ts";

/** Stores a bulk search of alice's with one lookup (one page), as an accepted upload leaves it. */
async function storeBulkSearch(h: Harness, transactionId: string): Promise<number> {
  const spool = `${crypto.randomUUID()}.lookups`;
  const writer = await h.deps.storage.spools.create(spool);
  writer.line(JSON.stringify(["1", "UIN", "NOBODY-1"]));
  await writer.commit();
  const now = new Date(h.deps.clock.now()).toISOString();
  const message = {
    transaction_id: transactionId,
    bulk_file: { file_name: "lookups.csv", file_format: "csv", items: 1 },
  };
  const { row } = await h.deps.storage.transactions.insert({
    sender_id: h.alice.senderId,
    transaction_id: transactionId,
    dedupe_key: transactionId,
    message_id: crypto.randomUUID(),
    correlation_id: crypto.randomUUID(),
    action: "search",
    registry: "social",
    callback_url: "https://alice.example/cb/registry/on-search",
    request_header: "{}",
    request_message: JSON.stringify(message),
    ack: "{}",
    reference_ids: [],
    now,
  }, { spool, file_name: "lookups.csv", file_format: "csv", items_total: 1, page_size: 1000 });
  return row.id;
}

Deno.test("bulk search: a run whose page waits for its retry is woken at the retry's time", async () => {
  const retryMs = 60_000;
  const h = await harness({ callbackRetryDelaysMs: String(retryMs) }, { script: [503] });
  try {
    assert.ok(retryMs > BULK_WAIT_IN_PLACE_MS, "the run lets go of its slot rather than wait in place");
    const id = await storeBulkSearch(h, "bulk-wake");
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
