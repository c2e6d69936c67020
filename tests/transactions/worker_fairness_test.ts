/**
 * One sender's or one receiver's backlog never holds back another sender's work in the worker: processing slots
 * are fair by sender, the due-work poll passes over what waits behind a receiver that never answers, and what
 * waits there is bounded (the rest is parked by id). Real parts: the worker, SQLite (or PostgreSQL with --pg),
 * the due-work query; a scripted HTTP edge and a fake clock.
 */
import assert from "node:assert/strict";
import { type Harness, harness, type Json, searchMessage, storeBulkSearch } from "./support.ts";
import { createTestSender } from "../helpers/auth.ts";
import { PROCESSORS } from "../../src/actions/processors.ts";
import type { Processor } from "../../src/dci/processor.ts";
import type { OutboundClient, OutboundResponse } from "../../src/net/outbound.ts";
import { startDuePoll } from "../../src/jobs/due_poll.ts";
import { trackTransactions } from "../../src/jobs/background.ts";
import { WAITING_AGE_MS } from "../../src/jobs/sweeper.ts";
import { FairLimiter } from "../../src/transactions/limiter.ts";

/** Waits for `cond` (a state the code under test reaches by itself), failing after `ms` without it. */
async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!await cond()) {
    if (Date.now() > end) throw new Error(`not seen within ${ms} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A gate: `wait()` resolves once `open()` has been called. */
function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => open = r);
  return { wait: () => opened, open };
}

const OK: OutboundResponse = { status: 200, headers: new Headers(), body: new Uint8Array(), text: () => "" };

/** An HTTP edge on which every request to `slowHost` hangs until `release()`; the others answer 200 at once. */
function hangingHttp(slowHost: string) {
  const released = gate();
  const urls: string[] = [];
  const client: OutboundClient & { urls: string[]; release(): void } = {
    urls,
    release: released.open,
    check: () => Promise.resolve(),
    async request(url) {
      urls.push(url);
      if (new URL(url).host === slowHost) await released.wait();
      return OK;
    },
  };
  return client;
}

async function idOf(h: Harness, res: { body: Record<string, unknown> }): Promise<number> {
  const correlation = (res.body.message as Json).correlation_id;
  return (await h.deps.storage.transactions.getByCorrelationId(correlation))!.id;
}

async function stateOf(h: Harness, id: number): Promise<string | undefined> {
  return (await h.deps.storage.transactions.get(id))?.state;
}

Deno.test("FairLimiter: a free slot goes to the waiting key with the fewest running, not to the oldest waiter", async () => {
  const limiter = new FairLimiter(2, 2);
  const order: string[] = [];
  const gates = new Map<string, ReturnType<typeof gate>>();
  const task = (key: string, name: string) => {
    const g = gate();
    gates.set(name, g);
    return limiter.run(key, async () => {
      order.push(name);
      await g.wait();
    });
  };
  const all = [task("a", "a1"), task("a", "a2"), task("a", "a3"), task("b", "b1")];
  await until(() => order.length === 2, "a1 and a2 run");
  assert.equal(limiter.waitingFor("a"), 1);
  assert.equal(limiter.waitingFor("b"), 1);
  gates.get("a1")!.open();
  await until(() => order.length === 3, "a third task runs");
  assert.deepEqual(
    order,
    ["a1", "a2", "b1"],
    "b1 (none of b running) before the older a3 (one of a running)",
  );
  for (const name of ["a2", "b1"]) gates.get(name)!.open();
  await until(() => order.length === 4, "a3 runs");
  gates.get("a3")!.open();
  await Promise.all(all);
  assert.equal(limiter.active + limiter.waiting, 0);
});

Deno.test("FairLimiter: a key alone runs at most perKey tasks, and another key's task runs at once beside them", async () => {
  const limiter = new FairLimiter(4, 3);
  const running = new Set<string>();
  const g = gate();
  const task = (key: string, name: string) =>
    limiter.run(key, async () => {
      running.add(name);
      await g.wait();
    });
  const all = Array.from({ length: 6 }, (_, i) => task("a", `a${i}`));
  await until(() => running.size === 3, "three of a run");
  all.push(task("b", "b0"));
  await until(() => running.has("b0"), "b0 runs without waiting for a's tasks");
  assert.equal(limiter.waitingFor("a"), 3);
  g.open();
  await Promise.all(all);
});

Deno.test("worker: another sender's transaction is processed while one sender's backlog of slow searches waits", async () => {
  const slow = gate();
  let aliceStarted = 0;
  let alice = "";
  // Alice's searches run long (a scan waiting for its sender's turn in the search pool, say); bob's as usual.
  const search: Processor = async (deps, input) => {
    if (input.senderId === alice) {
      aliceStarted++;
      await slow.wait();
    }
    return await PROCESSORS.search(deps, input);
  };
  const h = await harness({}, { processors: { search } });
  alice = h.alice.senderId;
  try {
    const bob = await createTestSender(h.deps);
    for (let i = 0; i < 12; i++) await h.post("/registry/search", searchMessage(`alice-${i}`));
    const bobs = await idOf(h, await h.post("/registry/search", searchMessage("bob-1"), { sender: bob }));
    // Every wake-up at once, in arrival order (as the queue listener runs them): alice's twelve, then bob's.
    const handles = h.deps.queue.waiting.splice(0).map((w) => h.worker.handle(Number(w.message.id)));
    await until(async () => await stateOf(h, bobs) === "callback_sent", "bob's callback sent");
    assert.ok(aliceStarted <= 6, "alice holds three quarters of the 8 processing slots, no more");
    assert.ok(h.http.sent.every((s) => (s.body.message as Json).transaction_id === "bob-1"));
    slow.open();
    await Promise.all(handles);
    assert.equal(h.http.sent.length, 13);
  } finally {
    slow.open();
    h.close();
  }
});

Deno.test("due-work poll: a receiver that never answers holds a bounded few of its callbacks, and another sender's due work is still taken", async () => {
  const h = await harness({ outboundPerDestination: "1" }, { waitingPerKey: 2 });
  const http = hangingHttp("slow.example");
  h.deps.http = http;
  const txns = trackTransactions(h.worker);
  const poll = startDuePoll(h.deps, { ...txns, notify: () => {} }, { intervalMs: 60_000, limit: 4 });
  // What the poll started has settled: only alice's three held callbacks are handled (and some parked).
  const settled = () => h.worker.busy() === 3 && txns.held!() - h.worker.parkedCount() === 3;
  try {
    const alices: number[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await h.post("/registry/search", searchMessage(`alice-${i}`), {
        senderUri: "https://slow.example/cb",
      });
      alices.push(await idOf(h, res));
    }
    h.deps.queue.waiting.length = 0; // every wake-up lost: only the due-work poll finds them
    h.deps.clock.advance(WAITING_AGE_MS + 1);
    assert.equal(await poll.runNow(), 4);
    // One callback on the wire (DCI_OUTBOUND_PER_DESTINATION), two waiting for it, the fourth parked by id.
    await until(() => settled() && h.worker.parkedCount() === 1, "alice's first four settle");

    const bob = await createTestSender(h.deps);
    const bobs = await idOf(
      h,
      await h.post("/registry/search", searchMessage("bob-1"), {
        sender: bob,
        senderUri: "https://fast.example/cb",
      }),
    );
    h.deps.queue.waiting.length = 0;
    h.deps.clock.advance(WAITING_AGE_MS + 1);
    // Held work fills the poll's limit: the poll still takes the rest, bob's included, in whatever order the
    // query returns them.
    for (
      let i = 0;
      i < 4 && (await stateOf(h, bobs) !== "callback_sent" || h.worker.parkedCount() < 5);
      i++
    ) {
      await poll.runNow();
      await until(settled, "the handed transactions settle");
    }
    assert.equal(await stateOf(h, bobs), "callback_sent");
    assert.equal(http.urls.filter((u) => u.includes("fast.example")).length, 1);
    assert.equal(h.worker.parkedCount(), 5, "alice's callbacks past the queue's two are parked by id");
    assert.equal(h.worker.busy(), 3, "three handles for alice's eight callbacks");
    assert.equal(http.urls.filter((u) => u.includes("slow.example")).length, 1, "one on the wire");
    for (const id of alices) assert.equal(await stateOf(h, id), "succeeded");
    // A wake-up for a parked one returns at once, without a wait.
    await h.worker.handle(alices.find((id) => h.worker.parked(id))!);
    assert.equal(h.worker.busy(), 3);

    // The receiver answers at last: the held ones go, then the parked ones as their queue gets room.
    http.release();
    const allSent = async () =>
      (await Promise.all(alices.map((id) => stateOf(h, id)))).every((s) => s === "callback_sent");
    for (let i = 0; i < 20 && !await allSent(); i++) {
      await until(() => h.worker.busy() === 0, "the held callbacks end");
      await poll.runNow();
    }
    assert.ok(await allSent());
  } finally {
    http.release();
    poll.stop();
    await until(() => h.worker.busy() === 0, "every handle ends");
    h.close();
  }
});

Deno.test("worker: bulk searches run three at a time, at most two of one sender's: another sender's file never waits behind them", async () => {
  const h = await harness();
  try {
    const bob = await createTestSender(h.deps);
    const http = hangingHttp(`${h.alice.senderId}.example`);
    h.deps.http = http;
    const alices = [];
    for (let i = 0; i < 3; i++) alices.push(await storeBulkSearch(h, `bulk-a${i}`, 1));
    const bobs = await storeBulkSearch(h, "bulk-b", 1, bob.senderId);
    // Alice's three arrive first; her first two hang on the wire, her third waits, bob's runs.
    const handled = [...alices, bobs].map((id) => h.worker.handle(id));
    await until(() => http.urls.length >= 3, "three pages sent");
    await until(async () => await stateOf(h, bobs) === "callback_sent", "bob's search delivered");
    const hosts = http.urls.map((u) => new URL(u).host);
    // Alice's third waits for one of hers: none of its pages went out.
    assert.deepEqual(hosts.filter((x) => x.startsWith(h.alice.senderId)).length, 2, hosts.join());
    http.release();
    await Promise.all(handled);
    for (const id of alices) assert.equal(await stateOf(h, id), "callback_sent");
  } finally {
    h.close();
  }
});
