import assert from "node:assert/strict";
import { callbackAction, canMove, dciStatus, retryDelay } from "../../src/transactions/states.ts";
import { callbackUrl } from "../../src/transactions/callback.ts";
import { memoryQueue } from "../../src/jobs/queue.ts";
import { fakeClock } from "../../src/clock.ts";

Deno.test("retryDelay() follows the configured delays with ±10 % jitter, then gives up", () => {
  const low = retryDelay([60_000, 120_000, 240_000], () => 0);
  const high = retryDelay([60_000, 120_000, 240_000], () => 0.999999);
  assert.equal(low(1), 54_000);
  assert.equal(low(2), 108_000);
  assert.equal(low(3), 216_000);
  assert.ok(high(1)! > 65_999 && high(1)! <= 66_000);
  assert.equal(low(4), null);
  assert.equal(low(0), null);
  const real = retryDelay([1000]);
  for (let i = 0; i < 50; i++) {
    const d = real(1)!;
    assert.ok(d >= 900 && d <= 1100, `delay ${d} out of the jitter band`);
  }
});

Deno.test("dciStatus() derives rcvd/pdng/succ/rjct from the state and outcome", () => {
  assert.equal(dciStatus("received", null), "rcvd");
  assert.equal(dciStatus("pending", null), "pdng");
  assert.equal(dciStatus("processing", null), "pdng");
  assert.equal(dciStatus("succeeded", "succ"), "succ");
  assert.equal(dciStatus("rejected", "rjct"), "rjct");
  assert.equal(dciStatus("callback_sent", "rjct"), "rjct");
  assert.equal(dciStatus("callback_failed", "succ"), "succ");
});

Deno.test("canMove() allows only the state machine's transitions", () => {
  assert.ok(canMove("received", "pending"));
  assert.ok(canMove("processing", "rejected"));
  assert.ok(canMove("callback_failed", "succeeded"));
  assert.ok(!canMove("callback_sent", "processing"));
  assert.ok(!canMove("pending", "callback_sent"));
  assert.equal(callbackAction("txn-status"), "txn-on-status");
});

Deno.test("callbackUrl() appends the callback path, or puts the action's in place of one the URL ends in", () => {
  assert.equal(callbackUrl("https://a.example/dci/", "search"), "https://a.example/dci/registry/on-search");
  assert.equal(callbackUrl("https://a.example", "subscribe"), "https://a.example/registry/on-subscribe");
  assert.equal(
    callbackUrl("https://a.example/x?y=1", "txn-status"),
    "https://a.example/x/registry/txn/on-status?y=1",
  );
  assert.equal(
    callbackUrl("https://a.example/registry/on-search", "search"),
    "https://a.example/registry/on-search",
  );
  assert.equal(
    callbackUrl("https://a.example/cb/on-unsubscribe", "unsubscribe"),
    "https://a.example/cb/on-unsubscribe",
  );
  // The spec's example sender_uri ends in on-search: a subscribe's or a status request's answer goes to its own path.
  const spec = "https://spmis.example.org/dci/callback/on-search";
  assert.equal(callbackUrl(spec, "subscribe"), "https://spmis.example.org/dci/callback/on-subscribe");
  assert.equal(callbackUrl(spec, "txn-status"), "https://spmis.example.org/dci/callback/txn/on-status");
  assert.equal(
    callbackUrl("https://a.example/cb/txn/on-status/", "receipt"),
    "https://a.example/cb/on-receipt",
  );
  assert.equal(callbackUrl(spec, "subscribe", "exact"), spec);
  assert.equal(callbackUrl("ftp://a.example/", "search"), undefined);
  assert.equal(callbackUrl("https://user:pw@a.example/", "search"), undefined);
  assert.equal(callbackUrl("not a url", "search"), undefined);
  assert.equal(callbackUrl(undefined, "search"), undefined);
});

Deno.test("memoryQueue() delivers a delayed message only once the clock reaches it", async () => {
  const clock = fakeClock(0);
  const q = memoryQueue(clock);
  const seen: string[] = [];
  await q.enqueue({ kind: "txn", id: "1" });
  await q.enqueue({ kind: "txn", id: "2" }, { delayMs: 1000 });
  assert.equal(await q.deliverDue((m) => Promise.resolve(void seen.push(m.id))), 1);
  assert.deepEqual(seen, ["1"]);
  clock.advance(1000);
  assert.equal(await q.deliverDue((m) => Promise.resolve(void seen.push(m.id))), 1);
  assert.deepEqual(seen, ["1", "2"]);
});
