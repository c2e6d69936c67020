/**
 * Item 6: the token endpoint does cheap checks before it hashes, hashes at most a bounded number of secrets at
 * once, locks a client id after repeated failures (state in SQLite: every isolate sees it), caches verified
 * credentials until rotation or revocation (seen by every isolate through SQLite), and counts IPv6 sources per
 * /64 in its per-IP limit.
 */
import assert from "node:assert/strict";
import { withTestDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { addSender } from "../../src/senders/store.ts";
import { createClient, revokeClient, rotateClientSecret } from "../../src/senders/clients.ts";
import { closeDeps, type Deps, openDeps } from "../../src/deps.ts";
import { testConfig } from "../../src/config.ts";
import { fakeClock } from "../../src/clock.ts";
import { silentLogger } from "../../src/obs/log.ts";

type App = ReturnType<typeof createApp>;

function ask(app: App, id: string, secret: string, from = "127.0.0.1") {
  return app.request("/oauth2/client/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "client_credentials", client_id: id, client_secret: secret }),
  }, { remoteAddr: { transport: "tcp", hostname: from, port: 40000 } });
}

/** A counter's value in this isolate's metrics (0 when never incremented). */
function counter(deps: Deps, name: string, labels = ""): number {
  const m = new RegExp(`^${name}${labels.replace(/[{}]/g, "\\$&")} (\\d+)$`, "m").exec(deps.metrics.render());
  return m ? Number(m[1]) : 0;
}

/**
 * Makes the next `n` requests reach the hash guard together, as if they had all arrived in the same instant: each
 * waits before the guard until the n-th is there (the client lookup before it is a database round trip, which on
 * PostgreSQL spreads simultaneous requests over the first hash's time). With `firstId`, that client's requests go
 * on first.
 */
function arriveTogether(deps: Deps, n: number, firstId?: string): void {
  const guard = deps.tokenGuard;
  const waiting: Array<{ clientId: string; go: () => void }> = [];
  const original = guard.withHashSlot.bind(guard);
  guard.withHashSlot = (async (...args: Parameters<typeof original>) => {
    if (waiting.length < n) {
      const arrived = new Promise<void>((go) => waiting.push({ clientId: args[0], go }));
      if (waiting.length === n) {
        // Released in arrival order, those of `firstId` first: each enters the slot's check in that order.
        const first = waiting.filter((w) => w.clientId === firstId);
        [...first, ...waiting.filter((w) => w.clientId !== firstId)].forEach((w) => w.go());
      }
      await arrived;
    }
    return original(...args);
  }) as typeof guard.withHashSlot;
}

/** Two deps on one data dir, as two isolates of one server; `close()` closes both and removes the dir. */
async function twoIsolates(overrides: Record<string, string> = {}) {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-token-" });
  const clock = fakeClock(Date.now());
  const config = testConfig({ dataDir, ...overrides });
  const a = await openDeps(config, { clock, log: silentLogger });
  const b = await openDeps(config, { clock, log: silentLogger, migrateOnOpen: false, ensureKey: false });
  await addSender(a, "s1", {});
  const { client, clientSecret } = await createClient(a, "s1", { scopes: ["registry.search"] });
  return {
    a,
    b,
    clock,
    clientId: client.client_id,
    secret: clientSecret,
    close: async () => {
      closeDeps(a);
      closeDeps(b);
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

Deno.test("token endpoint: unknown, revoked and over-long client ids are refused without hashing", async () => {
  await withTestDeps({ tokenIpLimitPerMinute: "1000" }, async (deps) => {
    await addSender(deps, "s1", {});
    const { client, clientSecret } = await createClient(deps, "s1");
    const app = createApp(deps);
    assert.equal((await ask(app, "dcic_unknown00000", "dcis_x")).status, 401);
    assert.equal((await ask(app, "x".repeat(600), "dcis_x")).status, 401);
    await revokeClient(deps, client.client_id);
    assert.equal((await ask(app, client.client_id, clientSecret)).status, 401);
    assert.equal(counter(deps, "dci_token_secret_hashes_total"), 0);
  });
});

Deno.test("token endpoint: a verified credential is not hashed again; rotation and revocation in another isolate end it at once", async () => {
  const t = await twoIsolates({ tokenIpLimitPerMinute: "1000" });
  try {
    const app = createApp(t.a);
    assert.equal((await ask(app, t.clientId, t.secret)).status, 200);
    assert.equal((await ask(app, t.clientId, t.secret)).status, 200);
    assert.equal((await ask(app, t.clientId, t.secret)).status, 200);
    assert.equal(counter(t.a, "dci_token_secret_hashes_total"), 1);

    const { clientSecret: rotated } = await rotateClientSecret(t.b, t.clientId);
    assert.equal((await ask(app, t.clientId, t.secret)).status, 401, "the old secret outlived its rotation");
    assert.equal((await ask(app, t.clientId, rotated)).status, 200);
    assert.equal((await ask(app, t.clientId, rotated)).status, 200);
    assert.equal(counter(t.a, "dci_token_secret_hashes_total"), 3);

    await revokeClient(t.b, t.clientId);
    assert.equal((await ask(app, t.clientId, rotated)).status, 401, "the cached secret outlived revocation");
  } finally {
    await t.close();
  }
});

Deno.test("token endpoint: repeated failures lock the client id from that address in every isolate for a bounded time; the owner elsewhere still gets tokens", async () => {
  const t = await twoIsolates({ tokenIpLimitPerMinute: "1000", tokenClientFailureLimit: "3" });
  try {
    const appA = createApp(t.a);
    const appB = createApp(t.b);
    // One attacker host: an IPv6 /64 counts as one address, whatever interface id it writes.
    for (let i = 0; i < 3; i++) {
      assert.equal((await ask(appA, t.clientId, `dcis_guess${i}`, `2001:db8:7::${i + 1}`)).status, 401);
    }
    const hashes = counter(t.a, "dci_token_secret_hashes_total");
    const locked = await ask(appA, t.clientId, "dcis_guess9", "2001:db8:7::9");
    assert.equal(locked.status, 429);
    assert.ok(Number(locked.headers.get("retry-after")) >= 1);
    assert.equal(counter(t.a, "dci_token_secret_hashes_total"), hashes, "a locked id was hashed");
    // The other isolate sees the lock for that address: even the right secret from there waits.
    assert.equal((await ask(appB, t.clientId, t.secret, "2001:db8:7::ab")).status, 429);
    // The owner, from its own address and never verified in B, is not locked out by someone else's guesses.
    assert.equal((await ask(appB, t.clientId, t.secret, "10.0.0.1")).status, 200);
    // The lock ends once the failures leave the rolling minute.
    t.clock.advance(60_000);
    assert.equal((await ask(appA, t.clientId, t.secret, "2001:db8:7::ab")).status, 200);
  } finally {
    await t.close();
  }
});

Deno.test("token endpoint: hashes beyond the concurrency bound and its short queue are refused with 503 and Retry-After", async () => {
  await withTestDeps({ tokenIpLimitPerMinute: "1000", tokenHashConcurrency: "1" }, async (deps) => {
    await addSender(deps, "s1", {});
    const clients: string[] = [];
    for (let i = 0; i < 12; i++) clients.push((await createClient(deps, "s1")).client.client_id);
    const app = createApp(deps);
    arriveTogether(deps, 12);
    const answers = await Promise.all(clients.map((id, i) => ask(app, id, `dcis_wrong${i}`)));
    const statuses = answers.map((r) => r.status);
    // One hashing and four waiting per slot: five are hashed, the other seven are refused at once.
    assert.equal(statuses.filter((s) => s === 401).length, 5);
    assert.equal(statuses.filter((s) => s === 503).length, 7);
    const busy = answers.find((r) => r.status === 503)!;
    assert.equal(busy.headers.get("retry-after"), "1");
    assert.equal((await busy.json()).error, "temporarily_unavailable");
    // Twelve parallel guesses at one id: one hash, the others refused (an id holds one place at most).
    arriveTogether(deps, 12);
    const burst = await Promise.all(clients.map((_, i) => ask(app, clients[0], `dcis_again${i}`)));
    assert.deepEqual(burst.map((r) => r.status).sort(), [401, ...Array(11).fill(503)]);
  });
});

Deno.test("token endpoint: guesses at an id that failed recently never queue for a hash; a new client's first request does", async () => {
  await withTestDeps({ tokenIpLimitPerMinute: "1000", tokenHashConcurrency: "1" }, async (deps) => {
    await addSender(deps, "s1", {});
    const victim = await createClient(deps, "s1");
    const fresh = await createClient(deps, "s1");
    const app = createApp(deps);
    assert.equal((await ask(app, victim.client.client_id, "dcis_guess0")).status, 401); // one failure: suspect
    // The four meet at the hash slot, the guesses first: how long each one's lookups took (on PostgreSQL, round
    // trips under a loaded machine) must not let the first guess's hash end before the others ask.
    arriveTogether(deps, 4, victim.client.client_id);
    const [newcomer, ...guesses] = await Promise.all([
      ask(app, fresh.client.client_id, fresh.clientSecret), // waits for the slot
      ask(app, victim.client.client_id, "dcis_guess1"), // one guess takes the idle slot
      ask(app, victim.client.client_id, "dcis_guess2"),
      ask(app, victim.client.client_id, "dcis_guess3"),
    ]);
    assert.equal(newcomer.status, 200);
    assert.deepEqual(guesses.map((r) => r.status).sort(), [401, 503, 503]);
  });
});

Deno.test("token endpoint: the per-IP limit counts an IPv6 /64 as one source", async () => {
  await withTestDeps({ tokenIpLimitPerMinute: "2" }, async (deps) => {
    const app = createApp(deps);
    const status = async (from: string) => (await ask(app, "dcic_unknown00000", "dcis_x", from)).status;
    assert.equal(await status("2001:db8:1:2::1"), 401);
    assert.equal(await status("2001:db8:1:2:ffff::9"), 401);
    assert.equal(
      await status("2001:db8:1:2:abcd:1:2:3"),
      429,
      "another address of the same /64 was not limited",
    );
    assert.equal(await status("2001:db8:1:3::1"), 401);
    // IPv4 as seen by a dual-stack socket counts as the IPv4 address.
    assert.equal(await status("::ffff:192.0.2.1"), 401);
    assert.equal(await status("192.0.2.1"), 401);
    assert.equal(await status("192.0.2.1"), 429);
  });
});
