/**
 * A partner's new key is accepted at its first signature: a signature (envelope kidId or RFC 9421 keyid) naming a
 * key id the sender lacks fetches the sender's JWKS again, at most once a minute per sender, one fetch shared by
 * concurrent requests, and only for an authenticated sender with a jwks_url. Real JWKS served on a loopback port.
 */
import assert from "node:assert/strict";
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { createApp } from "../helpers/app.ts";
import { authenticate } from "../../src/auth/middleware.ts";
import { signEnvelope } from "../../src/auth/envelope_signature.ts";
import { contentDigest, signHttpRequest } from "../../src/auth/http_signature.ts";
import { fetchSenderKeys, keysAfterRefetch } from "../../src/senders/jwks_fetch.ts";
import { listSenderKeys } from "../../src/senders/keys.ts";
import { createLogger } from "../../src/obs/log.ts";

/** An Ed25519 key pair with its public JWK under `kid`. */
function jwksKey(kid: string): { kid: string; privateKey: KeyObject; jwk: Record<string, unknown> } {
  const pair = generateKeyPairSync("ed25519");
  return { kid, privateKey: pair.privateKey, jwk: { ...pair.publicKey.export({ format: "jwk" }), kid } };
}

/** A partner's JWKS endpoint on a loopback port: serves `keys` (or answers `status`), counts the fetches. */
function jwksServer() {
  const state = { keys: [] as Record<string, unknown>[], status: 200, fetches: 0 };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, () => {
    state.fetches++;
    return state.status === 200
      ? Response.json({ keys: state.keys })
      : new Response("unavailable", { status: state.status });
  });
  return Object.assign(state, {
    url: `http://127.0.0.1:${server.addr.port}/.well-known/jwks.json`,
    close: () => server.shutdown(),
  });
}

async function setup() {
  const jwks = jwksServer();
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const lines: Record<string, unknown>[] = [];
  deps.log = createLogger("info", { sink: (l) => lines.push(JSON.parse(l)) });
  const app = createApp(deps);
  app.post("/dci_api/v1/test/auth", authenticate(deps, "registry.search"), (c) => c.json(c.get("auth")));
  return { deps, jwks, lines, app };
}

type Ctx = Awaited<ReturnType<typeof setup>>;

/** POSTs an envelope from `sender` signed by `key` under kidId `{kidSender}|{key.kid}|ed25519`. */
async function envelopeCall(
  ctx: Ctx,
  sender: TestSender,
  key: { kid: string; privateKey: KeyObject },
  kidSender = sender.senderId,
) {
  const env = requestEnvelope(sender.senderId, {}, { nowMs: ctx.deps.clock.now() });
  const signature = signEnvelope(env, {
    kid: `${kidSender}|${key.kid}|ed25519`,
    alg: "ed25519",
    privateKey: key.privateKey,
  }, {
    nowMs: ctx.deps.clock.now(),
  });
  const res = await ctx.app.request("http://localhost/dci_api/v1/test/auth", {
    method: "POST",
    headers: { "content-type": "application/json", ...sender.headers() },
    body: JSON.stringify({ ...env, signature }),
  });
  return { status: res.status, body: await res.json() };
}

/** POSTs an envelope from `sender` with an RFC 9421 signature by `key` under keyid `key.kid`. */
async function httpSignedCall(ctx: Ctx, sender: TestSender, key: { kid: string; privateKey: KeyObject }) {
  const url = "http://localhost/dci_api/v1/test/auth";
  const body = JSON.stringify(requestEnvelope(sender.senderId, {}, { nowMs: ctx.deps.clock.now() }));
  const headers = new Headers({
    "content-type": "application/json",
    "content-digest": contentDigest(new TextEncoder().encode(body)),
    ...sender.headers(),
  });
  const s = signHttpRequest({ method: "POST", url, headers }, key.privateKey, {
    keyId: key.kid,
    components: ["@method", "@target-uri", "content-digest"],
    created: Math.floor(ctx.deps.clock.now() / 1000),
  });
  headers.set("signature-input", s.signatureInput);
  headers.set("signature", s.signature);
  const res = await ctx.app.request(url, { method: "POST", headers, body });
  return { status: res.status, body: await res.json() };
}

async function cleanup(ctx: Ctx) {
  ctx.deps.close();
  await ctx.jwks.close();
}

Deno.test("authenticate() fetches the JWKS again for a kidId naming a key id the sender lacks, at most once a minute", async () => {
  const ctx = await setup();
  try {
    const { deps, jwks, lines } = ctx;
    const j1 = jwksKey("j1");
    jwks.keys = [j1.jwk];
    const partner = await createTestSender(deps, { jwks_url: jwks.url });
    assert.deepEqual(await fetchSenderKeys(deps, partner.senderId), { ok: true, keys: 1 });
    // j1 verifies, and the key set at this stamp is cached.
    assert.equal((await envelopeCall(ctx, partner, j1)).body.keyId, "j1");
    // The partner publishes j2 and signs with it at once: one fetch, and the new key verifies.
    const j2 = jwksKey("j2");
    jwks.keys = [j1.jwk, j2.jwk];
    const first = await envelopeCall(ctx, partner, j2);
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.keyId, "j2");
    assert.equal(jwks.fetches, 2);
    assert.deepEqual((await listSenderKeys(deps, partner.senderId)).map((k) => k.key_id).sort(), [
      "j1",
      "j2",
      "k1",
    ]);
    const logged = lines.find((l) => l.msg === "sender JWKS refetched for an unknown key id");
    assert.deepEqual([logged?.sender_id, logged?.key_id, logged?.keys], [partner.senderId, "j2", 2]);
    // j3 within the same minute: no fetch, refused as before.
    const j3 = jwksKey("j3");
    jwks.keys = [j1.jwk, j2.jwk, j3.jwk];
    const early = await envelopeCall(ctx, partner, j3);
    assert.equal(early.status, 401);
    assert.match(early.body.message.error.message, /key "j3" of sender .* is unknown/);
    assert.equal(jwks.fetches, 2);
    // A minute after the last refetch started, it is fetched again.
    deps.clock.advance(60_000);
    assert.equal((await envelopeCall(ctx, partner, j3)).body.keyId, "j3");
    assert.equal(jwks.fetches, 3);
  } finally {
    await cleanup(ctx);
  }
});

Deno.test("authenticate() fetches the JWKS again for an RFC 9421 keyid the sender lacks", async () => {
  const ctx = await setup();
  try {
    const partner = await createTestSender(ctx.deps, { jwks_url: ctx.jwks.url });
    const fresh = jwksKey("j2-http");
    ctx.jwks.keys = [fresh.jwk];
    const res = await httpSignedCall(ctx, partner, fresh);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.keyId, "j2-http");
    assert.equal(ctx.jwks.fetches, 1);
    // A keyid no key can have ("a b") fetches nothing.
    ctx.deps.clock.advance(60_000);
    const odd = await httpSignedCall(ctx, partner, { kid: "a b", privateKey: fresh.privateKey });
    assert.equal(odd.status, 401);
    assert.equal(ctx.jwks.fetches, 1);
  } finally {
    await cleanup(ctx);
  }
});

Deno.test("an unknown key id is refused as before without a jwks_url, after a failed fetch, and never fetched for another sender or a bad token", async () => {
  const ctx = await setup();
  try {
    const { deps, jwks, lines } = ctx;
    const j2 = jwksKey("j2");
    jwks.keys = [j2.jwk];
    // No jwks_url: the same refusal as ever (the sole key k1 stands in and does not match), nothing fetched.
    const plain = await createTestSender(deps);
    const noUrl = await envelopeCall(ctx, plain, j2);
    assert.equal(noUrl.status, 401);
    assert.match(noUrl.body.message.error.message, /does not match/);
    assert.equal((await httpSignedCall(ctx, plain, j2)).status, 401);
    // Another sender's kidId, or a request whose token does not verify: the other sender's JWKS is not fetched.
    const partner = await createTestSender(deps, { jwks_url: jwks.url });
    const other = await envelopeCall(ctx, plain, j2, partner.senderId);
    assert.match(other.body.message.error.message, /kidId names sender/);
    const forged = {
      ...partner,
      headers: () => ({ authorization: `Bearer ${partner.token.slice(0, -4)}AAAA` }),
    };
    assert.equal((await envelopeCall(ctx, forged, j2)).status, 401);
    assert.equal((await httpSignedCall(ctx, forged, j2)).status, 401);
    assert.equal(jwks.fetches, 0);
    // The JWKS URL fails: refused as before, the warning names the sender and the error, and no secret.
    jwks.status = 503;
    const failed = await envelopeCall(ctx, partner, j2);
    assert.equal(failed.status, 401);
    assert.match(failed.body.message.error.message, /does not match/);
    assert.equal(jwks.fetches, 1);
    const warning = lines.find((l) => l.msg === "sender JWKS refetch for an unknown key id failed");
    assert.deepEqual([warning?.level, warning?.sender_id, warning?.key_id], ["warn", partner.senderId, "j2"]);
    assert.match(String(warning?.error), /HTTP 503/);
    const logged = JSON.stringify(lines);
    for (const secret of [partner.token, partner.clientSecret]) assert.equal(logged.includes(secret), false);
    assert.deepEqual((await listSenderKeys(deps, partner.senderId)).map((k) => k.key_id), ["k1"]);
  } finally {
    await cleanup(ctx);
  }
});

Deno.test("keysAfterRefetch() shares one fetch among concurrent calls and reads the keys it stored", async () => {
  const ctx = await setup();
  try {
    const { deps, jwks } = ctx;
    const partner = await createTestSender(deps, { jwks_url: jwks.url });
    jwks.keys = [jwksKey("j2").jwk];
    const sets = await Promise.all([1, 2, 3].map(() => keysAfterRefetch(deps, partner.senderId, "j2")));
    assert.equal(jwks.fetches, 1);
    for (const set of sets) assert.deepEqual([...set!.keys()].sort(), ["j2", "k1"]);
    assert.equal(await keysAfterRefetch(deps, partner.senderId, "j3"), undefined, "within the minute");
    deps.clock.advance(59_999);
    assert.equal(await keysAfterRefetch(deps, partner.senderId, "j3"), undefined);
    assert.equal(jwks.fetches, 1);
    deps.clock.advance(1);
    assert.ok(await keysAfterRefetch(deps, partner.senderId, "j3"));
    assert.equal(jwks.fetches, 2);
  } finally {
    await cleanup(ctx);
  }
});
