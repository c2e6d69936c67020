/**
 * Item 12: once a sender (known from its bearer token) is over its rate limit, its requests are refused with
 * 429 before the body is read, parsed or its signature verified; the exact count in SQLite still decides when
 * it may send again.
 */
import assert from "node:assert/strict";
import { testDeps, withTestDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { startServer } from "../../src/server.ts";
import { updateSender } from "../../src/senders/store.ts";
import { createApp } from "../helpers/app.ts";
import { validator } from "hono/validator";
import { specFetch } from "../helpers/spec_hooks.ts";
import { BODIES_IN_FLIGHT } from "../../src/auth/sender_backoff.ts";

const PATH = "/registry/sync/search";

function search(sender: TestSender, nowMs: number): string {
  return JSON.stringify(sender.sign(
    requestEnvelope(sender.senderId, {
      transaction_id: crypto.randomUUID(),
      search_request: [{
        reference_id: crypto.randomUUID(),
        timestamp: new Date(nowMs).toISOString(),
        search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "NOPE-1" } },
      }],
    }, { totalCount: 1, nowMs }),
    nowMs,
  ));
}

async function post(
  url: string,
  sender: TestSender,
  body: BodyInit,
  signal?: AbortSignal,
  client?: Deno.HttpClient,
) {
  const res = await specFetch(url, {
    method: "POST",
    headers: { "content-type": "application/json", ...sender.headers() },
    body,
    signal,
    client,
  } as RequestInit);
  const json = await res.json();
  return {
    status: res.status,
    headers: res.headers,
    code: json?.message?.error?.code as string | undefined,
    message: json?.message?.error?.message as string | undefined,
  };
}

/** A JSON body whose stream sends its first bytes and then never ends. */
function endlessBody(): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(ctl) {
      if (sent) return new Promise(() => {}); // never another chunk, never closed
      sent = true;
      ctl.enqueue(new TextEncoder().encode('{"header":{"sender_id":"'));
    },
  });
}

/** Resolves with `work`, or rejects when it has not answered after `ms` (a guard for the failure, not a timing). */
function answers<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const guard = new Promise<never>((_, reject) =>
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms: the body was awaited`)), ms)
  );
  return Promise.race([work, guard]).finally(() => clearTimeout(timer));
}

Deno.test("authenticate() refuses a sender over its limit before its body: invalid, badly signed and endless bodies get 429", async () => {
  const deps = await testDeps();
  const alice = await createTestSender(deps, { limit_minute: 2 });
  const bob = await createTestSender(deps);
  const server = startServer(deps);
  const url = `http://127.0.0.1:${server.port}${PATH}`;
  try {
    assert.equal((await post(url, alice, search(alice, deps.clock.now()))).status, 200);
    assert.equal((await post(url, alice, search(alice, deps.clock.now()))).status, 200);
    const refused = await post(url, alice, search(alice, deps.clock.now()));
    assert.equal(refused.status, 429);
    assert.equal(refused.code, "err.request.too_many_requests");

    const malformed = await post(url, alice, "{ not json");
    assert.equal(malformed.status, 429, "malformed JSON was parsed before the rate limit");
    assert.ok(Number(malformed.headers.get("retry-after")) >= 1);
    assert.match(malformed.headers.get("ratelimit") ?? "", /"minute";r=0/);

    const forged = JSON.parse(search(alice, deps.clock.now()));
    forged.signature = forged.signature.replace(/signature="[^"]+"/, 'signature="AAAA"');
    assert.equal((await post(url, alice, JSON.stringify(forged))).status, 429);

    const abort = new AbortController();
    const endless = await answers(post(url, alice, endlessBody(), abort.signal), 20_000);
    abort.abort();
    assert.equal(endless.status, 429);

    // Another sender is not affected.
    assert.equal((await post(url, bob, search(bob, deps.clock.now()))).status, 200);
  } finally {
    await server.shutdown();
    deps.close();
  }
});

Deno.test("authenticate() counts requests refused after the bearer check: a replayed copy, a bad body or header spend the quota", async () => {
  const deps = await testDeps();
  const alice = await createTestSender(deps, { limit_minute: 4 });
  const server = startServer(deps);
  const url = `http://127.0.0.1:${server.port}${PATH}`;
  try {
    const one = search(alice, deps.clock.now());
    assert.equal((await post(url, alice, one)).status, 200);
    // The same signed request again: read, verified, refused as a duplicate, and counted.
    assert.equal((await post(url, alice, one)).status, 409);
    assert.equal((await post(url, alice, "{ not json")).status, 400);
    const elsewhere = JSON.parse(search(alice, deps.clock.now()));
    elsewhere.header.receiver_id = "another-registry";
    assert.equal((await post(url, alice, JSON.stringify(elsewhere))).status, 400);
    // Four counted: the next copy is refused before it is read.
    const over = await post(url, alice, one);
    assert.equal(over.status, 429);
    assert.equal(over.code, "err.request.too_many_requests");
  } finally {
    await server.shutdown();
    deps.close();
  }
});

Deno.test("authenticate() early refusal never outlives the exact count: a new window or a raised limit admits again", async () => {
  const deps = await testDeps();
  const alice = await createTestSender(deps, { limit_minute: 1 });
  const server = startServer(deps);
  const url = `http://127.0.0.1:${server.port}${PATH}`;
  try {
    assert.equal((await post(url, alice, search(alice, deps.clock.now()))).status, 200);
    assert.equal((await post(url, alice, search(alice, deps.clock.now()))).status, 429);
    assert.equal((await post(url, alice, "{")).status, 429);
    deps.clock.advance(60_000); // the accepted request leaves the rolling minute
    assert.equal((await post(url, alice, search(alice, deps.clock.now()))).status, 200);
    assert.equal((await post(url, alice, search(alice, deps.clock.now()))).status, 429);
    await updateSender(deps, alice.senderId, { limit_minute: 5 });
    assert.equal((await post(url, alice, search(alice, deps.clock.now()))).status, 200);
  } finally {
    await server.shutdown();
    deps.close();
  }
});

Deno.test("limitBody() reads a chunked body only when the route does; an oversized one still answers 413 through a validator", async () => {
  await withTestDeps({ bodyLimit: "2048" }, async (deps) => {
    const app = createApp(deps);
    let pulls = 0;
    const chunked = () =>
      new ReadableStream<Uint8Array>({
        pull(ctl) {
          if (pulls++ >= 8) return ctl.close();
          ctl.enqueue(new TextEncoder().encode(pulls === 1 ? '{"pad":"' : "x".repeat(1024)));
        },
      });
    app.post("/dci_api/v1/test/unread", (c) => c.json({ ok: true }));
    app.post("/dci_api/v1/test/validated", validator("json", (v) => v), (c) => c.json({ ok: true }));
    const post = (path: string) =>
      app.request(path, { method: "POST", headers: { "content-type": "application/json" }, body: chunked() });
    const unread = await post("/dci_api/v1/test/unread");
    assert.equal(unread.status, 200);
    assert.ok(pulls <= 2, `the body was read ahead of the route (${pulls} pulls)`);
    pulls = 0;
    const validated = await post("/dci_api/v1/test/validated");
    assert.equal(validated.status, 413);
    assert.equal((await validated.json()).message.error.code, "err.request.bad");
  });
});

Deno.test("authenticate() reads one sender's bodies up to eight of the body limit's size at once: the next gets 429 unread", async () => {
  const deps = await testDeps();
  // A limit the test's requests never reach: the refusal below is the bodies', not the count's.
  const alice = await createTestSender(deps, { limit_minute: 10_000 });
  const bob = await createTestSender(deps);
  const server = startServer(deps);
  const url = `http://127.0.0.1:${server.port}${PATH}`;
  const aborts: AbortController[] = [];
  const stalled: Promise<unknown>[] = [];
  // The endless bodies each on a connection of its own (one sent on a pooled keep-alive connection the server
  // closes meanwhile would fail: a streamed body is never retried). One refused because the probe below reached
  // the server first (its few bytes and seven bodies leave no room for an eighth) is sent again.
  const fresh = Deno.createHttpClient({ poolMaxIdlePerHost: 0 });
  const lost: string[] = [];
  let stopping = false;
  const stallOne = async (): Promise<void> => {
    const abort = new AbortController();
    aborts.push(abort);
    const r = await post(url, alice, endlessBody(), abort.signal, fresh).catch((err) => {
      if (!abort.signal.aborted) lost.push(String(err));
      return undefined;
    });
    if (!r || stopping) return;
    lost.push(`answered ${r.status} ${r.code}`);
    if (r.status === 429) return stallOne();
  };
  try {
    // Small requests at once are never held back.
    const small = await Promise.all(
      Array.from({ length: 20 }, () => post(url, alice, search(alice, deps.clock.now()))),
    );
    assert.deepEqual(small.map((r) => r.status), Array(20).fill(200));
    // Bodies that never end, streamed without a length: each counts as the body limit.
    for (let i = 0; i < BODIES_IN_FLIGHT; i++) stalled.push(stallOne());
    // Once they are all being read, the sender's next request is refused before its body is read.
    // (They may take seconds to arrive on a busy machine: CI runs test files side by side.)
    let next = await post(url, alice, search(alice, deps.clock.now()));
    for (const end = Date.now() + 15_000; Date.now() < end && next.status !== 429;) {
      await new Promise((r) => setTimeout(r, 20));
      next = await post(url, alice, search(alice, deps.clock.now()));
    }
    assert.equal(next.status, 429, `a ninth body was read beside eight of the limit's size (ended: ${lost})`);
    assert.equal(next.code, "err.request.too_many_requests");
    assert.match(next.message ?? "", /requests on their way/);
    assert.equal(next.headers.get("retry-after"), "1");
    // Another sender is not affected; the sender's requests go through again once its bodies are gone.
    assert.equal((await post(url, bob, search(bob, deps.clock.now()))).status, 200);
    stopping = true;
    for (const a of aborts) a.abort();
    await Promise.all(stalled);
    let again = await post(url, alice, search(alice, deps.clock.now()));
    for (const end = Date.now() + 15_000; Date.now() < end && again.status !== 200;) {
      await new Promise((r) => setTimeout(r, 20));
      again = await post(url, alice, search(alice, deps.clock.now()));
    }
    assert.equal(again.status, 200);
  } finally {
    stopping = true;
    for (const a of aborts) a.abort();
    await Promise.all(stalled);
    fresh.close();
    await server.shutdown();
    deps.close();
  }
});
