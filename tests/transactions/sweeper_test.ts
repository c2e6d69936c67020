import assert from "node:assert/strict";
import { harness, type Json, searchMessage } from "./support.ts";
import { sweepTransactions, WAITING_AGE_MS } from "../../src/jobs/sweeper.ts";
import { startDuePoll } from "../../src/jobs/due_poll.ts";
import { OutboundError } from "../../src/net/outbound.ts";

Deno.test("the start-up sweep redoes transactions whose queue message was lost and work a dead process held", async () => {
  const h = await harness();
  try {
    const a = await h.post("/registry/search", searchMessage("t-lost"));
    const b = await h.post("/registry/search", searchMessage("t-held"));
    h.deps.queue.waiting.length = 0; // the KV messages are gone
    const held =
      (await h.deps.storage.transactions.getByCorrelationId((b.body.message as Json).correlation_id))!;
    const now = h.deps.clock.now();
    // A process claimed it, then died (lease far in the future).
    assert.ok(
      await h.deps.storage.transactions.claimProcessing(
        held.id,
        "dead",
        new Date(now).toISOString(),
        new Date(now + 3600_000).toISOString(),
      ),
    );
    // A periodic sweep leaves both alone: nothing is past the lease yet.
    assert.equal(await sweepTransactions(h.deps, h.worker.handle, { startup: false }), 0);
    if (h.deps.backend === "sqlite") {
      assert.equal(await sweepTransactions(h.deps, h.worker.handle, { startup: true }), 2);
    } else {
      // PostgreSQL: another instance may hold a lease and be working, so start-up releases none (TransactionStore
      // releaseLeases): the lost one is redone at once, the held one once its lease has lapsed.
      assert.equal(await sweepTransactions(h.deps, h.worker.handle, { startup: true }), 1);
      h.deps.clock.advance(3600_000 + h.deps.config.leaseSeconds * 1000 + 1);
      assert.equal(await sweepTransactions(h.deps, h.worker.handle, { startup: false }), 1);
    }
    for (const res of [a, b]) {
      assert.equal(
        (await h.deps.storage.transactions.getByCorrelationId((res.body.message as Json).correlation_id))!
          .state,
        "callback_sent",
      );
    }
    assert.equal(h.http.sent.length, 2);
  } finally {
    h.close();
  }
});

Deno.test("the periodic sweep redoes a stuck pending transaction after the lease and a retry that is due", async () => {
  const h = await harness({ leaseSeconds: "30" }, { script: [503] });
  try {
    const a = await h.post("/registry/search", searchMessage("t-retry"));
    await h.drain(); // first attempt fails, a retry is queued in 100 ms
    const b = await h.post("/registry/search", searchMessage("t-stuck"));
    h.deps.queue.waiting.length = 0; // both queue messages lost
    h.deps.clock.advance(100);
    assert.equal(
      await sweepTransactions(h.deps, h.worker.handle, { startup: false }),
      1,
      "only the due retry",
    );
    assert.equal(
      (await h.deps.storage.transactions.getByCorrelationId((a.body.message as Json).correlation_id))!.state,
      "callback_sent",
    );
    h.deps.clock.advance(30_000);
    assert.equal(await sweepTransactions(h.deps, h.worker.handle, { startup: false }), 1);
    assert.equal(
      (await h.deps.storage.transactions.getByCorrelationId((b.body.message as Json).correlation_id))!.state,
      "callback_sent",
    );
  } finally {
    h.close();
  }
});

Deno.test("a processor that throws ends the transaction as rjct with a code, never lost", async () => {
  const h = await harness({ processAttempts: "2" });
  try {
    const res = await h.post("/registry/txn/status", {
      transaction_id: "q",
      txnstatus_request: { attribute_type: "transaction_id", attribute_value: "x" },
    });
    const row =
      (await h.deps.storage.transactions.getByCorrelationId((res.body.message as Json).correlation_id))!;
    // Corrupt the stored request so the processor cannot parse it.
    await h.deps.sql("UPDATE transactions SET request_message = '{not json' WHERE id = ?", [row.id]);
    await h.drain(); // attempt 1 fails; attempt 2 is due in a second
    assert.equal(
      (await h.deps.storage.transactions.getByCorrelationId(row.correlation_id))!.state,
      "processing",
    );
    h.deps.clock.advance(1000);
    await h.drain();
    const after = (await h.deps.storage.transactions.getByCorrelationId(row.correlation_id))!;
    assert.equal(after.state, "callback_sent");
    assert.equal(after.outcome, "rjct");
    assert.equal(after.status_reason_code, "rjct.processing.failed");
    const header = h.http.sent[0].body.header as Record<string, string>;
    assert.equal(header.status, "rjct");
    assert.doesNotMatch(header.status_reason_message, /JSON/);
  } finally {
    h.close();
  }
});

Deno.test("a failed attempt releases its lease and records when the next is due", async () => {
  const h = await harness({}, { script: [new OutboundError("network", "reset")] });
  try {
    const res = await h.post("/registry/search", searchMessage("t-crashy"));
    await h.drain();
    const row =
      (await h.deps.storage.transactions.getByCorrelationId((res.body.message as Json).correlation_id))!;
    assert.equal(row.state, "succeeded");
    assert.equal(row.lease_owner, null);
    assert.ok(row.next_attempt_at);
  } finally {
    h.close();
  }
});

Deno.test("the due-work poll passes over the transactions its worker holds and takes up to its limit of the others", async () => {
  const h = await harness();
  const handed: number[] = [];
  let held = new Set<number>();
  const poll = startDuePoll(h.deps, {
    handle: (id) => Promise.resolve(void handed.push(id)),
    busy: (id) => held.has(id),
    held: () => held.size,
    notify: () => {},
  }, { intervalMs: 60_000, limit: 2 }); // run by hand below
  try {
    const ids: number[] = [];
    for (const t of ["t-1", "t-2", "t-3", "t-4", "t-5"]) {
      const res = await h.post("/registry/search", searchMessage(t));
      ids.push(
        (await h.deps.storage.transactions.getByCorrelationId((res.body.message as Json).correlation_id))!.id,
      );
    }
    h.deps.queue.waiting.length = 0; // their wake-ups lost: only the due-work query finds them
    h.deps.clock.advance(WAITING_AGE_MS + 1);
    // The worker holds two of them (waiting behind a receiver that never answers, say): a poll that asked for
    // only what its limit leaves beside them would ask for none, and nothing else due would ever start.
    held = new Set(ids.slice(0, 2));
    assert.equal(await poll.runNow(), 2, "two others, past the two held");
    assert.equal(handed.filter((id) => held.has(id)).length, 0);
    held = new Set([...ids.slice(0, 2), ...handed]);
    assert.equal(await poll.runNow(), 1, "the last one");
    assert.deepEqual([...handed].sort((a, b) => a - b), ids.slice(2));
    held = new Set(ids);
    assert.equal(await poll.runNow(), 0, "every due one is held");
  } finally {
    poll.stop();
    h.close();
  }
});

Deno.test("the start-up sweep does not wait for a long-running item (a resumed bulk search) to end", async () => {
  const h = await harness();
  try {
    const a = await h.post("/registry/search", searchMessage("t-long"));
    const b = await h.post("/registry/search", searchMessage("t-short"));
    h.deps.queue.waiting.length = 0;
    const long =
      (await h.deps.storage.transactions.getByCorrelationId((a.body.message as Json).correlation_id))!;
    // The first one runs "for hours"; the other is handled as usual.
    const handle = (id: number) => id === long.id ? new Promise<void>(() => {}) : h.worker.handle(id);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const swept = await Promise.race([
      sweepTransactions(h.deps, handle, { startup: true, batchWaitMs: 50 }),
      new Promise((r) => timer = setTimeout(() => r("still waiting"), 5000)),
    ]);
    clearTimeout(timer);
    assert.equal(swept, 2);
    // The other one was handed to the worker too (it may still be finishing on a loaded machine).
    const state = async () =>
      (await h.deps.storage.transactions.getByCorrelationId((b.body.message as Json).correlation_id))!.state;
    for (let i = 0; i < 200 && await state() !== "callback_sent"; i++) {
      await new Promise((r) => setTimeout(r, 25));
    }
    assert.equal(await state(), "callback_sent");
  } finally {
    h.close();
  }
});
