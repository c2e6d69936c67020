/** Each Deps owns its caches and notifier holder (openDeps builds them): two Deps in one process share none. */
import assert from "node:assert/strict";
import { testConfig } from "../../src/config.ts";
import { closeDeps, type Deps, openDeps } from "../../src/deps.ts";
import { silentLogger } from "../../src/obs/log.ts";
import { verifyAccessToken } from "../../src/auth/jwt.ts";
import type { QueueMessage } from "../../src/jobs/queue.ts";
import { startNotifier, wakeNotifier } from "../../src/subscriptions/notifier.ts";
import { createTestSender } from "../helpers/auth.ts";
import { testDeps, type WritableDeps } from "../helpers/deps.ts";

/** Counts the signature checks' key lookups on `deps` (one per token not found in its token cache). */
function countKeyLookups(deps: Deps): { n: number } {
  const count = { n: 0 };
  const lookup = deps.keys.verificationKey.bind(deps.keys);
  deps.keys.verificationKey = (kid) => {
    count.n++;
    return lookup(kid);
  };
  return count;
}

Deno.test("openDeps: a token verified on one Deps is verified again on a second Deps of the same data dir", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-deps-" });
  const config = testConfig({ dataDir: dir });
  const a = await openDeps(config, { log: silentLogger });
  // The second as an HTTP isolate opens it: same database and server keys, no migrations.
  const b = await openDeps(config, { log: silentLogger, migrateOnOpen: false, ensureKey: false });
  try {
    const { token } = await createTestSender(a);
    const onA = countKeyLookups(a);
    const onB = countKeyLookups(b);
    const first = await verifyAccessToken(a, token);
    await verifyAccessToken(a, token);
    assert.equal(onA.n, 1, "a token seen before on a skips the signature");
    assert.equal(onB.n, 0);
    const other = await verifyAccessToken(b, token);
    assert.equal(onB.n, 1, "b has not seen the token: it checks the signature itself");
    await verifyAccessToken(b, token);
    assert.equal(onB.n, 1);
    assert.equal(onA.n, 1);
    assert.deepEqual(other, first);
    assert.notEqual(a.tokenCache, b.tokenCache);
    assert.notEqual(a.senderKeyCache, b.senderKeyCache);
  } finally {
    closeDeps(a);
    closeDeps(b);
    await Deno.remove(dir, { recursive: true });
  }
});

/** Replaces `deps.queue.wake` with one that records what it is asked to send. */
function recordQueueWakes(deps: WritableDeps): QueueMessage[] {
  const sent: QueueMessage[] = [];
  deps.queue = { ...deps.queue, wake: (message) => (sent.push(message), true) };
  return sent;
}

Deno.test("wakeNotifier: a notifier started on one Deps is woken by its own wakeNotifier, never by another Deps'", async () => {
  const a = await testDeps();
  const b = await testDeps();
  const viaQueueA = recordQueueWakes(a);
  const viaQueueB = recordQueueWakes(b);
  // No due-work poll runs here: the notifier does only what it is woken or handed.
  const notifier = startNotifier(a);
  let woken = 0;
  const wake = notifier.wake;
  try {
    // Count the wake-ups that reach the running notifier through a's holder.
    a.notifierWake.register({ wake: () => (woken++, wake()) });
    wakeNotifier(a);
    assert.equal(woken, 1, "a's notifier is woken directly");
    assert.deepEqual(viaQueueA, []);
    wakeNotifier(b);
    assert.equal(woken, 1, "b's wakeNotifier does not reach a's notifier");
    assert.deepEqual(
      viaQueueB,
      [{ kind: "notify", id: "0" }],
      "b has no local notifier: it wakes over its queue",
    );
    await notifier.runNow();
  } finally {
    await notifier.stop();
  }
  wakeNotifier(a);
  assert.deepEqual(
    viaQueueA,
    [{ kind: "notify", id: "0" }],
    "a stopped notifier is no longer woken directly",
  );
  assert.equal(woken, 1);
  a.close();
  b.close();
});
