/**
 * Signature strings as partners write them (issue 12 §2, §3): parameters quoted or not (`created=1700000000`,
 * OpenSPP's verifier takes both), kidIds whose sender id is a URL or holds "|", and the validity window a
 * per-sender maximum can widen up to 3,600 s (300 s by default).
 */
import assert from "node:assert/strict";
import { createHash, type KeyObject, sign } from "node:crypto";
import { Buffer } from "node:buffer";
import { canonicalJson } from "../../src/dci/canonical.ts";
import {
  MAX_SIGNATURE_WINDOW_S,
  parseSignature,
  signatureWindowS,
  signEnvelope,
  verifyEnvelope,
} from "../../src/auth/envelope_signature.ts";
import { createApp } from "../../src/app.ts";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { nobodySearch, postApp } from "./support.ts";

const SIG = "c2lnbmF0dXJlLWJ5dGVzLWhlcmUtb2YtYW55LWxlbmd0aA==";

/** The same signature string with every parameter but `headers` unquoted (its value holds spaces). */
function unquote(signature: string): string {
  return signature.replace(/(\w+)="([^"\s]*)"/g, "$1=$2");
}

Deno.test("parseSignature() takes unquoted parameters as OpenSPP's parser does, and quoted ones", () => {
  const quoted = `namespace="dci", kidId="social.example.org|k1|ed25519", algorithm="ed25519", ` +
    `created="1700000000", expires="1700000300", headers="(created) (expires) digest", signature="${SIG}"`;
  const bare = unquote(quoted);
  assert.equal(
    bare,
    `namespace=dci, kidId=social.example.org|k1|ed25519, algorithm=ed25519, created=1700000000, ` +
      `expires=1700000300, headers="(created) (expires) digest", signature=${SIG}`,
  );
  const a = parseSignature(quoted);
  const b = parseSignature(bare);
  assert.ok(a.ok && b.ok);
  assert.deepEqual(b.params, a.params);
  assert.deepEqual([b.params.senderId, b.params.keyId, b.params.alg, b.params.created, b.params.expires], [
    "social.example.org",
    "k1",
    "ed25519",
    1700000000,
    1700000300,
  ]);
  for (const bad of ["created=, expires=1", 'created="1" expires="2"', "created=1 2", 'kidId=a"b']) {
    assert.equal(parseSignature(bad).ok, false, bad);
  }
});

Deno.test("parseSignature() reads the kidId from the right: sender ids with ':', '/' and '|' keep every character", () => {
  const sig = (kid: string) =>
    parseSignature(`kidId="${kid}", algorithm="ed25519", created="1", expires="2", signature="${SIG}"`);
  const cases: Array<[string, string, string]> = [
    ["https://integrating-server.com|k1|ed25519", "https://integrating-server.com", "k1"],
    ["https://integrating-server.com|k1", "https://integrating-server.com", "k1"],
    ["urn:org:partner|with|bars|key-2|ed25519", "urn:org:partner|with|bars", "key-2"],
  ];
  for (const [kid, senderId, keyId] of cases) {
    const p = sig(kid);
    assert.ok(p.ok, kid);
    assert.deepEqual([p.params.senderId, p.params.keyId], [senderId, keyId], kid);
  }
  for (const kid of ["|k1|ed25519", "s||ed25519", "nobar"]) assert.equal(sig(kid).ok, false, kid);
});

Deno.test("authenticate() accepts an envelope whose signature parameters are unquoted", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps, { senderId: "https://integrating-server.com" });
    const app = createApp(deps);
    const send = async (signature: (s: string) => string) => {
      const signed = alice.sign(nobodySearch(alice.senderId, deps.clock.now()));
      return await postApp(app, alice.headers(), { ...signed, signature: signature(signed.signature) });
    };
    const bare = await send(unquote);
    assert.equal(bare.status, 200, JSON.stringify(bare.body));
    assert.equal(bare.body.header.receiver_id, "https://integrating-server.com");
    // Unquoted is parsed, not trusted: a changed unquoted signature is refused.
    const changed = await send((s) =>
      unquote(s).replace(/signature=(.)/, (_, c) => `signature=${c === "A" ? "B" : "A"}`)
    );
    assert.equal(changed.status, 401);
    assert.equal(changed.body.message.error.code, "err.signature.invalid");
  } finally {
    deps.close();
  }
});

Deno.test("signatureWindowS() is 300 s by default and a sender's maximum up to 3,600 s; verifyEnvelope() applies it", async () => {
  assert.equal(signatureWindowS(undefined), MAX_SIGNATURE_WINDOW_S);
  assert.equal(signatureWindowS(null), 300);
  assert.equal(signatureWindowS(1800), 1800);
  assert.equal(signatureWindowS(86_400), 3600);
  assert.equal(signatureWindowS(0), 1);
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const env = { header: { sender_id: alice.senderId }, message: {} };
    const key = {
      kid: `${alice.senderId}|k1|ed25519`,
      alg: "ed25519" as const,
      privateKey: alice.privateKey,
    };
    const normal = signEnvelope(env, key, { nowMs: deps.clock.now(), ttlSeconds: 300 });
    const base = { nowMs: deps.clock.now(), resolveKey: () => alice.publicKey };
    assert.equal(verifyEnvelope({ ...env, signature: normal }, base).ok, true);
    // signEnvelope caps its own ttl at 300 s: a one-hour window is signed by hand.
    const created = Math.floor(deps.clock.now() / 1000);
    const wide = longWindow(env, alice.privateKey, alice.senderId, created, created + 3600);
    const refused = verifyEnvelope({ ...env, signature: wide }, base);
    assert.deepEqual(refused, { ok: false, failure: { reason: "window_too_long", maxS: 300 } });
    assert.equal(
      verifyEnvelope({ ...env, signature: wide }, { ...base, maxWindowS: signatureWindowS(3600) }).ok,
      true,
    );
  } finally {
    deps.close();
  }
});

function longWindow(
  env: { header: unknown; message: unknown },
  privateKey: KeyObject,
  senderId: string,
  created: number,
  expires: number,
): string {
  const digest = createHash("sha256").update(canonicalJson(env, { asciiEscape: true })).digest("base64");
  const sig = sign(
    null,
    Buffer.from(`(created): ${created}\n(expires): ${expires}\ndigest: ${digest}`),
    privateKey,
  );
  return `kidId="${senderId}|k1|ed25519", algorithm="ed25519", created="${created}", expires="${expires}", ` +
    `signature="${sig.toString("base64")}"`;
}
