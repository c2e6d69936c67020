/**
 * A client's secret rotated (CLI `client rotate-secret`, admin API, console: all call rotateClientSecret) stops
 * every access token obtained with an earlier secret at its next use, in every isolate, while a token of the new
 * secret works at once, even one issued in the same second as the rotation (and as the old token).
 */
import assert from "node:assert/strict";
import { closeDeps, type Deps, openDeps } from "../../src/deps.ts";
import { testConfig } from "../../src/config.ts";
import { fakeClock } from "../../src/clock.ts";
import { silentLogger } from "../../src/obs/log.ts";
import { issueAccessToken } from "../../src/auth/jwt.ts";
import { rotateClientSecret } from "../../src/senders/clients.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { createApp } from "../helpers/app.ts";
import { freshPgDatabase, TEST_BACKEND } from "../helpers/deps.ts";

type App = ReturnType<typeof createApp>;

const SEARCH = {
  transaction_id: "t-rotate",
  search_request: [{
    reference_id: "r1",
    timestamp: "2026-03-01T10:00:00.000Z",
    search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "none" } },
  }],
};

/** Two Deps on one database (SQLite file, or PostgreSQL on that pass), as two HTTP isolates, on one fake clock. */
async function twoIsolates() {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-rotate-" });
  const databaseUrl = TEST_BACKEND === "postgres" ? await freshPgDatabase() : "";
  // 10:00:00.200: the token, the rotation and the new token all fall in one second.
  const clock = fakeClock(Date.parse("2026-03-01T10:00:00.200Z"));
  const config = testConfig({ dataDir, databaseUrl, tokenIpLimitPerMinute: "1000" });
  const a = await openDeps(config, { clock, log: silentLogger });
  const b = await openDeps(config, { clock, log: silentLogger, migrateOnOpen: false, ensureKey: false });
  return {
    a,
    b,
    clock,
    close: async () => {
      closeDeps(a);
      closeDeps(b);
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

/** A token from the app's real token endpoint (HTTP Basic). */
async function token(app: App, clientId: string, secret: string): Promise<Response> {
  return await app.request("/oauth2/client/token", {
    method: "POST",
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      authorization: `Basic ${btoa(`${clientId}:${secret}`)}`,
    },
    body: "grant_type=client_credentials",
  }, { remoteAddr: { transport: "tcp", hostname: "127.0.0.1", port: 40000 } });
}

async function accessToken(app: App, clientId: string, secret: string): Promise<string> {
  const res = await token(app, clientId, secret);
  const body = await res.json();
  assert.equal(res.status, 200, JSON.stringify(body));
  return body.access_token;
}

/** One signed sync search with `bearer`: its status and body. */
async function search(deps: Deps, app: App, sender: TestSender, bearer: string) {
  const envelope = sender.sign(
    requestEnvelope(sender.senderId, SEARCH, { totalCount: 1, nowMs: deps.clock.now() }),
  );
  const res = await app.request("/registry/sync/search", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${bearer}` },
    body: JSON.stringify(envelope),
  });
  return { status: res.status, body: await res.text() };
}

Deno.test("rotateClientSecret(): a token of the old secret is refused at once in every isolate, the new one works within the same second", async () => {
  const t = await twoIsolates();
  try {
    const alice = await createTestSender(t.a, { scopes: ["registry.search"] });
    const apps = [[t.a, createApp(t.a)], [t.b, createApp(t.b)]] as const;
    const old = await accessToken(apps[0][1], alice.clientId, alice.clientSecret);
    // Both isolates verify the token and keep it in their verified-token caches.
    for (const [deps, app] of apps) {
      const ok = await search(deps, app, alice, old);
      assert.equal(ok.status, 200, ok.body);
    }

    t.clock.advance(100); // 10:00:00.300
    const { clientSecret } = await rotateClientSecret(t.a, alice.clientId);
    for (const [deps, app] of apps) {
      const refused = await search(deps, app, alice, old);
      assert.equal(refused.status, 401, refused.body);
      assert.match(refused.body, /secret was rotated after this token was issued/);
    }
    assert.equal((await token(apps[1][1], alice.clientId, alice.clientSecret)).status, 401);

    t.clock.advance(100); // 10:00:00.400: the same iat as the old token
    const fresh = await accessToken(apps[1][1], alice.clientId, clientSecret);
    for (const [deps, app] of apps) {
      const ok = await search(deps, app, alice, fresh);
      assert.equal(ok.status, 200, ok.body);
    }

    // A second rotation in the same millisecond still stops the tokens of the secret before it.
    await rotateClientSecret(t.b, alice.clientId);
    const refused = await search(t.a, apps[0][1], alice, fresh);
    assert.equal(refused.status, 401, refused.body);
  } finally {
    await t.close();
  }
});

Deno.test("checkBearer(): a token issued before the secret_rotated_at claim existed is judged by its iat", async () => {
  const t = await twoIsolates();
  try {
    const alice = await createTestSender(t.a, { scopes: ["registry.search"] });
    const app = createApp(t.b);
    const input = { senderId: alice.senderId, clientId: alice.clientId, scopes: ["registry.search"] };
    const before = (await issueAccessToken(t.a, input)).token; // 10:00:00, no claim
    assert.equal((await search(t.b, app, alice, before)).status, 200);
    t.clock.advance(300); // 10:00:00.500
    await rotateClientSecret(t.a, alice.clientId);
    const sameSecond = (await issueAccessToken(t.a, input)).token;
    t.clock.advance(1_000); // 10:00:01.500
    const after = (await issueAccessToken(t.a, input)).token;
    assert.equal((await search(t.b, app, alice, before)).status, 401);
    // Issued in the rotation's second without the claim: it may have come from the old secret.
    assert.equal((await search(t.b, app, alice, sameSecond)).status, 401);
    const ok = await search(t.b, app, alice, after);
    assert.equal(ok.status, 200, ok.body);
  } finally {
    await t.close();
  }
});
