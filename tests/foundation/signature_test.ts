import { equal, ok } from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { canonicalJson } from "../../src/dci/canonical.ts";
import { parseSignature, signEnvelope, verifyEnvelope } from "../../src/auth/envelope_signature.ts";

const NOW = Date.parse("2026-03-01T12:00:00Z");

function keyPair(alg: "ed25519" | "rsa-sha256") {
  const kp = alg === "ed25519"
    ? generateKeyPairSync("ed25519")
    : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { kid: `spmis|k1|${alg}`, alg, privateKey: kp.privateKey, publicKey: kp.publicKey };
}

const envelope = () => ({
  header: {
    message_id: "m1",
    message_ts: "2026-03-01T12:00:00Z",
    action: "search",
    sender_id: "spmis",
    total_count: 1,
  },
  message: { transaction_id: "t1", search_request: [{ reference_id: "r1", name: "Zoë Ñúñez" }] },
});

Deno.test("canonicalJson() sorts keys recursively and escapes non-ASCII only in the ASCII form", () => {
  const v = { b: 1, a: { d: [3, { z: 1, y: "é" }], c: null } };
  equal(canonicalJson(v), '{"a":{"c":null,"d":[3,{"y":"é","z":1}]},"b":1}');
  equal(canonicalJson(v, { asciiEscape: true }), '{"a":{"c":null,"d":[3,{"y":"\\u00e9","z":1}]},"b":1}');
  equal(canonicalJson({ e: "😀" }, { asciiEscape: true }), '{"e":"\\ud83d\\ude00"}');
});

Deno.test("canonicalJson() writes what JSON.stringify would for undefined, holes, non-finite numbers and empties", () => {
  // deno-lint-ignore no-sparse-arrays
  const v = { u: undefined, a: [undefined, , 1, NaN, Infinity, -0], e: {}, l: [], s: "", n: null };
  equal(canonicalJson(v), '{"a":[null,null,1,null,null,0],"e":{},"l":[],"n":null,"s":""}');
  equal(canonicalJson(v), JSON.stringify({ a: v.a, e: v.e, l: v.l, n: v.n, s: v.s }));
  equal(canonicalJson([]), "[]");
  equal(canonicalJson(undefined), "null");
});

for (const alg of ["ed25519", "rsa-sha256"] as const) {
  Deno.test(`verifyEnvelope() accepts a ${alg} signature made by signEnvelope()`, () => {
    const key = keyPair(alg);
    const env = envelope();
    const signature = signEnvelope(env, key, { nowMs: NOW });
    const parsed = parseSignature(signature);
    ok(parsed.ok);
    equal(parsed.params.senderId, "spmis");
    equal(parsed.params.alg, alg);
    const res = verifyEnvelope({ ...env, signature }, { nowMs: NOW + 1000, resolveKey: () => key.publicKey });
    ok(res.ok, JSON.stringify(res));
  });

  Deno.test(`verifyEnvelope() rejects a ${alg} signature over a tampered message`, () => {
    const key = keyPair(alg);
    const env = envelope();
    const signature = signEnvelope(env, key, { nowMs: NOW });
    env.message.search_request[0].reference_id = "r2";
    const res = verifyEnvelope({ ...env, signature }, { nowMs: NOW, resolveKey: () => key.publicKey });
    equal(res.ok ? "ok" : res.failure.reason, "mismatch");
  });
}

Deno.test("verifyEnvelope() rejects another key, expiry, a future created and an over-long window", () => {
  const key = keyPair("ed25519");
  const other = keyPair("ed25519");
  const env = envelope();
  const signature = signEnvelope(env, key, { nowMs: NOW });
  const reason = (nowMs: number, sig = signature, pub = key.publicKey) => {
    const r = verifyEnvelope({ ...env, signature: sig }, { nowMs, resolveKey: () => pub });
    return r.ok ? "ok" : r.failure.reason;
  };
  equal(reason(NOW, signature, other.publicKey), "mismatch");
  equal(reason(NOW + 301_000), "expired");
  equal(reason(NOW - 61_000), "not_yet_valid");
  const long = signature.replace(/expires="(\d+)"/, (_m, e) => `expires="${Number(e) + 10}"`);
  equal(reason(NOW, long), "window_too_long");
  equal(reason(NOW, "garbage"), "malformed");
  const r = verifyEnvelope({ ...env }, { nowMs: NOW, resolveKey: () => key.publicKey });
  equal(r.ok ? "ok" : r.failure.reason, "missing");
  const unknown = verifyEnvelope({ ...env, signature }, { nowMs: NOW, resolveKey: () => undefined });
  equal(unknown.ok ? "ok" : unknown.failure.reason, "unknown_key");
});

Deno.test("verifyEnvelope() accepts a signature made over the JCS (non-escaped) form", async () => {
  const key = keyPair("ed25519");
  const env = envelope();
  const { createHash, sign } = await import("node:crypto");
  const digest = createHash("sha256").update(canonicalJson(env), "utf8").digest("base64");
  const created = Math.floor(NOW / 1000);
  const sig = sign(
    null,
    new TextEncoder().encode(`(created): ${created}\n(expires): ${created + 60}\ndigest: ${digest}`),
    key.privateKey,
  );
  const signature =
    `namespace="dci", kidId="spmis|k1|ed25519", algorithm="ed25519", created="${created}", expires="${
      created + 60
    }", headers="(created) (expires) digest", signature="${btoa(String.fromCharCode(...sig))}"`;
  ok(verifyEnvelope({ ...env, signature }, { nowMs: NOW, resolveKey: () => key.publicKey }).ok);
});
