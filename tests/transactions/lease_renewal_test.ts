/**
 * A lease is kept while its work runs: a processor or a callback that outlasts DCI_LEASE_SECONDS is not taken by
 * another instance (on PostgreSQL several share the table), and a process budget at or above the lease is refused
 * at start. Real parts: the worker and its store (SQLite, or PostgreSQL with --pg), a fake clock; the lease is
 * renewed on a real timer (a quarter of the lease).
 */
import assert from "node:assert/strict";
import { type Harness, harness, type Json, searchMessage, storeBulkSearch } from "./support.ts";
import { PROCESSORS } from "../../src/actions/processors.ts";
import type { Processor } from "../../src/dci/processor.ts";
import type { OutboundClient } from "../../src/net/outbound.ts";
import { ConfigError, loadConfig } from "../../src/config.ts";
import { keepLease } from "../../src/transactions/bulk_runner.ts";
import { createLogger } from "../../src/obs/log.ts";

/** Waits for `cond` (a state the code under test reaches by itself), failing after `ms` without it. */
async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!await cond()) {
    if (Date.now() > end) throw new Error(`not seen within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A gate: `wait()` resolves once `open()` has been called. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => open = r);
  return { wait: () => opened, open };
}

const iso = (ms: number) => new Date(ms).toISOString();

/** An HTTP edge whose receiver answers 200 to every request once `open()` is called, counting them. */
function heldReceiver() {
  const answer = gate();
  const held = {
    requests: 0,
    open: answer.open,
    http: {
      check: () => Promise.resolve(),
      async request() {
        held.requests++;
        await answer.wait();
        return { status: 200, headers: new Headers(), body: new Uint8Array(), text: () => "" };
      },
    } as OutboundClient,
  };
  return held;
}

/** Whether transaction `id`'s lease (held by the worker) runs past the fake clock's now. */
async function leaseAhead(h: Harness, id: number): Promise<boolean> {
  const row = await h.deps.storage.transactions.get(id);
  return !!row?.lease_until && Date.parse(row.lease_until) > h.deps.clock.now();
}

async function postOne(h: Harness, t: string): Promise<number> {
  const res = await h.post("/registry/search", searchMessage(t));
  h.deps.queue.waiting.length = 0; // handled by hand below
  return (await h.deps.storage.transactions.getByCorrelationId((res.body.message as Json).correlation_id))!
    .id;
}

Deno.test("worker: a processor running past the lease keeps it; another instance cannot claim the transaction", async () => {
  const slow = gate();
  let started = 0;
  const search: Processor = async (deps, input) => {
    started++;
    await slow.wait();
    return await PROCESSORS.search(deps, input);
  };
  const h = await harness({ leaseSeconds: "1" }, { processors: { search } });
  try {
    const id = await postOne(h, "t-slow");
    const handled = h.worker.handle(id);
    await until(() => started === 1, "the processor runs");
    h.deps.clock.advance(10_000); // ten leases later
    await until(() => leaseAhead(h, id), "the lease renewed past the clock");
    const now = h.deps.clock.now();
    assert.equal(
      await h.deps.storage.transactions.claimProcessing(id, "another-instance", iso(now), iso(now + 1000)),
      undefined,
      "the lease is held",
    );
    slow.open();
    await handled;
    assert.equal((await h.deps.storage.transactions.get(id))!.state, "callback_sent");
    assert.equal(started, 1);
    assert.equal(h.http.sent.length, 1);
  } finally {
    slow.open();
    h.close();
  }
});

Deno.test("worker: a callback on the wire past the lease keeps it; another instance cannot claim it", async () => {
  const h = await harness({ leaseSeconds: "1" });
  const answer = heldReceiver();
  h.deps.http = answer.http;
  try {
    const id = await postOne(h, "t-slow-receiver");
    const handled = h.worker.handle(id);
    await until(() => answer.requests === 1, "the callback is on the wire");
    h.deps.clock.advance(10_000);
    await until(() => leaseAhead(h, id), "the lease renewed past the clock");
    const now = h.deps.clock.now();
    assert.equal(
      await h.deps.storage.transactions.claimCallback(id, "another-instance", iso(now), iso(now + 1000)),
      undefined,
      "the lease is held",
    );
    answer.open();
    await handled;
    const row = (await h.deps.storage.transactions.get(id))!;
    assert.equal(row.state, "callback_sent");
    assert.equal(row.lease_owner, null);
    assert.equal(answer.requests, 1);
  } finally {
    answer.open();
    h.close();
  }
});

Deno.test("worker: a bulk search's page on the wire past the lease keeps it; another instance cannot claim the run", async () => {
  const h = await harness({ leaseSeconds: "1" });
  const answer = heldReceiver();
  h.deps.http = answer.http;
  try {
    const id = await storeBulkSearch(h, "bulk-slow-receiver", 2);
    const handled = h.worker.handle(id);
    await until(() => answer.requests === 1, "the first page is on the wire");
    h.deps.clock.advance(10_000);
    // Renewed before each page only, the lease would lapse while this one is on the wire (not renewed here).
    await until(() => leaseAhead(h, id), "the lease renewed past the clock");
    const now = h.deps.clock.now();
    assert.equal(
      await h.deps.storage.transactions.claimProcessing(id, "another-instance", iso(now), iso(now + 1000)),
      undefined,
      "the lease is held",
    );
    answer.open();
    await handled;
    const row = (await h.deps.storage.transactions.get(id))!;
    assert.equal(row.state, "callback_sent");
    assert.equal(answer.requests, 2);
  } finally {
    answer.open();
    h.close();
  }
});

Deno.test("keepLease(): a lease another instance took is warned of; one its own work let go of is not", async () => {
  const h = await harness({ leaseSeconds: "1" });
  const warned: string[] = [];
  h.deps.log = createLogger("warn", { sink: (line) => warned.push(String(JSON.parse(line).msg)) });
  try {
    const lostWarnings = () => warned.filter((m) => m === "transaction lease lost while its work ran").length;
    // Let go of by its own work (a release, as the end of a run or a step writes it): quiet.
    const ended = await postOne(h, "t-ended");
    let now = h.deps.clock.now();
    assert.ok(await h.deps.storage.transactions.claimProcessing(ended, "mine", iso(now), iso(now + 1000)));
    const quiet = keepLease(h.deps, ended, "mine");
    await h.deps.storage.transactions.releaseProcessing(ended, "mine", {
      error: "x",
      retryAt: iso(now),
      now: iso(now),
    });
    await new Promise((r) => setTimeout(r, 600)); // two ticks of a quarter of the lease
    quiet.stop();
    assert.equal(lostWarnings(), 0, warned.join());
    // Held by another instance (it took the lease once this one's lapsed): warned.
    const taken = await postOne(h, "t-taken");
    now = h.deps.clock.now();
    assert.ok(await h.deps.storage.transactions.claimProcessing(taken, "other", iso(now), iso(now + 1000)));
    const lost = keepLease(h.deps, taken, "mine");
    await until(() => lostWarnings() === 1, "the lost lease warned of");
    lost.stop();
  } finally {
    h.close();
  }
});

Deno.test("loadConfig() refuses a DCI_PROCESS_TIMEOUT_MS at or above the lease, naming both settings", () => {
  assert.throws(
    () => loadConfig({}, { DCI_PROCESS_TIMEOUT_MS: "120000" }),
    (err: Error) =>
      err instanceof ConfigError && /DCI_PROCESS_TIMEOUT_MS=120000 is not below DCI_LEASE_SECONDS \(120 s\)/
        .test(err.message),
  );
  assert.throws(
    () => loadConfig({}, { DCI_PROCESS_TIMEOUT_MS: "10000", DCI_LEASE_SECONDS: "5" }),
    ConfigError,
  );
  assert.equal(loadConfig({}, { DCI_PROCESS_TIMEOUT_MS: "119999" }).processTimeoutMs, 119_999);
  // The default budget beside a short lease (as tests set it) relies on the renewal alone.
  assert.equal(loadConfig({}, { DCI_LEASE_SECONDS: "5" }).processTimeoutMs, 30_000);
});
