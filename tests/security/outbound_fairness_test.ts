/**
 * Item 8: fair outbound delivery. Callbacks, notifications and JWKS fetches share one pool of slots; a receiver
 * that never answers may hold only its destination's (and its sender's) share, and another sender's request
 * must not wait behind it, neither in the pool nor in the worker that feeds it.
 */
import assert from "node:assert/strict";
import { testConfig } from "../../src/config.ts";
import { createOutboundClient, type OutboundResponse } from "../../src/net/outbound.ts";
import { FairSlots } from "../../src/net/fair_slots.ts";
import { startSilentReceiver } from "../helpers/silent_receiver.ts";
import { createServerSender, send, startWorkerServer } from "../transactions/e2e_support.ts";
import { startReceiver } from "../transactions/receiver.ts";
import { searchMessage } from "../transactions/support.ts";

/** A promise with a flag saying whether it has settled (resolved or rejected). */
function track(p: Promise<OutboundResponse>) {
  const t = { settled: false, done: p.then(() => {}, () => {}) };
  t.done.then(() => t.settled = true);
  return t;
}

/** A healthy loopback receiver answering 200. */
function healthy() {
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.arrayBuffer();
    return new Response("ok");
  });
  return { url: `http://127.0.0.1:${server.addr.port}`, close: () => server.shutdown() };
}

const post = (sender: string) => ({ method: "POST" as const, body: "{}", statusOnly: true, sender });

Deno.test("outbound client: a receiver that never answers holds only its destination's share; another sender's request goes through meanwhile", async () => {
  const silent = startSilentReceiver();
  const ok = healthy();
  const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1", outboundTimeoutMs: "10000" }));
  const held = Array.from({ length: 48 }, (_, i) => track(http.request(`${silent.url}/cb/${i}`, post("a"))));
  try {
    await silent.waitHeld(4);
    const res = await http.request(`${ok.url}/cb`, post("b"));
    assert.equal(res.status, 200);
    assert.equal(
      held.filter((t) => t.settled).length,
      0,
      "every request of sender a is still held or waiting",
    );
    assert.equal(silent.closedByClient(), 0);
    assert.equal(
      silent.held(),
      4,
      "the silent destination holds exactly its share (DCI_OUTBOUND_PER_DESTINATION)",
    );
  } finally {
    await silent.close();
    await Promise.all(held.map((t) => t.done));
    await ok.close();
  }
});

Deno.test("outbound client: one sender's requests to many silent destinations hold at most its sender share", async () => {
  const silents = Array.from({ length: 4 }, () => startSilentReceiver());
  const ok = healthy();
  const http = createOutboundClient(testConfig({ outboundAllow: "127.0.0.1", outboundTimeoutMs: "10000" }));
  const held = Array.from(
    { length: 48 },
    (_, i) => track(http.request(`${silents[i % 4].url}/cb/${i}`, post("a"))),
  );
  const holding = () => silents.reduce((n, s) => n + s.held(), 0);
  try {
    while (holding() < 8) await new Promise((r) => setTimeout(r, 10));
    const res = await http.request(`${ok.url}/cb`, post("b"));
    assert.equal(res.status, 200);
    assert.equal(held.filter((t) => t.settled).length, 0);
    assert.equal(holding(), 8, "sender a holds exactly its share (DCI_OUTBOUND_PER_SENDER)");
  } finally {
    for (const s of silents) await s.close();
    await Promise.all(held.map((t) => t.done));
    await ok.close();
  }
});

Deno.test("worker: another sender's callback arrives while 48 callbacks of one sender to a silent receiver are held", async () => {
  const silent = startSilentReceiver();
  const receiver = startReceiver();
  const server = await startWorkerServer({ DCI_OUTBOUND_TIMEOUT_MS: "20000" });
  try {
    const a = await createServerSender(server);
    const b = await createServerSender(server);
    for (let i = 0; i < 48; i++) {
      const res = await send(server, a, "/registry/search", searchMessage(`fair-a-${i}`), `${silent.url}/`);
      assert.equal(res.status, 202);
    }
    await silent.waitHeld(1);
    const res = await send(server, b, "/registry/search", searchMessage("fair-b"), receiver.url + "/");
    assert.equal(res.status, 202);
    await receiver.waitFor((got) => got.some((r) => r.transactionIdHeader === "fair-b"), 15_000);
    assert.equal(silent.closedByClient(), 0, "no callback of sender a has ended: they are all still held");
    assert.ok(silent.held() >= 1);
  } finally {
    await server.stop();
    await silent.close();
    await receiver.close();
  }
});

Deno.test("FairSlots: a blocked waiter keeps its place but blocks no one; the oldest runnable waiter goes first", async () => {
  const slots = new FairSlots({ total: 3, perDestination: 1, perSender: 2 });
  const order: string[] = [];
  const take = (name: string, destination: string, sender?: string, signal?: AbortSignal) =>
    slots.acquire({ destination, sender }, signal).then((release) => {
      order.push(name);
      return release;
    });
  const first = await take("a1", "silent", "a");
  const blocked = take("a2", "silent", "a"); // same destination: waits
  const aborted = new AbortController();
  const gone = take("a3", "silent", "a", aborted.signal);
  const other = await take("b1", "healthy", "b"); // runs at once, past the blocked head
  assert.deepEqual(order, ["a1", "b1"]);
  assert.equal(slots.waiting, 2);
  aborted.abort(new Error("deadline"));
  await assert.rejects(gone, /deadline/);
  assert.equal(slots.waiting, 1);
  first();
  (await blocked)();
  other();
  assert.deepEqual(order, ["a1", "b1", "a2"]);
  assert.equal(slots.active, 0);
  assert.equal(slots.waiting, 0);
});

Deno.test("FairSlots: when silent destinations hold every slot, a freed one goes to a destination holding fewer, not to their older backlog", async () => {
  // total / perDestination silent destinations take every slot between them (4 at the defaults: 16 / 4).
  const slots = new FairSlots({ total: 4, perDestination: 2, perSender: 4 });
  const order: string[] = [];
  const take = (name: string, destination: string, sender: string) =>
    slots.acquire({ destination, sender }).then((release) => {
      order.push(name);
      return release;
    });
  const silentA = [await take("a1", "silent-a", "s1"), await take("a2", "silent-a", "s1")];
  const silentB = [await take("b1", "silent-b", "s2"), await take("b2", "silent-b", "s2")];
  // Their backlogs queue first (older), then a healthy partner's callback.
  const backlogA = take("a3", "silent-a", "s1");
  const backlogB = take("b3", "silent-b", "s2");
  const healthy = take("h1", "healthy", "s3");
  assert.equal(slots.waiting, 3);
  const settle = () => new Promise((r) => setTimeout(r, 0));
  // One silent attempt times out: its slot goes to the destination holding none (oldest first gave it to a3).
  silentA[0]();
  await settle();
  assert.deepEqual(order.slice(4), ["h1"]);
  // The healthy one done, the slot goes back to a backlog (the one holding fewer slots, then the oldest).
  (await healthy)();
  await settle();
  assert.deepEqual(order.slice(4), ["h1", "a3"]);
  silentB[0]();
  await settle();
  assert.deepEqual(order.slice(4), ["h1", "a3", "b3"]);
  assert.equal(slots.waiting, 0);
  for (const release of [silentA[1], silentB[1], await backlogA, await backlogB]) release();
  assert.equal(slots.active, 0);
});

Deno.test("FairSlots: a slot freed by a silent destination holding one goes to a destination not served lately, not to its backlog", async () => {
  // Silent destinations holding one slot each fill the total (16 silent hosts at the defaults: two senders of 8).
  const slots = new FairSlots({ total: 3, perDestination: 1, perSender: 3 });
  const order: string[] = [];
  const take = (name: string, destination: string) =>
    slots.acquire({ destination, sender: name[0] }).then((release) => {
      order.push(name);
      return release;
    });
  const silent = [await take("s1", "silent-1"), await take("t1", "silent-2"), await take("u1", "silent-3")];
  const backlog = take("s2", "silent-1"); // older than the healthy partner's
  const healthy = take("h1", "healthy");
  const settle = () => new Promise((r) => setTimeout(r, 0));
  silent[0](); // silent-1's attempt times out: it and healthy both hold none now; healthy was never served
  await settle();
  assert.deepEqual(order.slice(3), ["h1"]);
  (await healthy)();
  await settle();
  assert.deepEqual(order.slice(3), ["h1", "s2"]);
  for (const release of [silent[1], silent[2], await backlog]) release();
  assert.equal(slots.active, 0);
});
