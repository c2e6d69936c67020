/**
 * The SDK (sdk/) against the server's own signer and verifier, in process: canonical JSON, envelope signatures in
 * both canonical forms (Ed25519, RSA), number literals, RFC 9421, and the JWKS cache. The SDK re-implements them
 * on WebCrypto; these tests keep the two from drifting.
 */
import assert from "node:assert/strict";
import { createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { Buffer } from "node:buffer";
import * as sdk from "../../sdk/mod.ts";
import { canonicalForms, canonicalJson, parseKeepingNumberLiterals } from "../../src/dci/canonical.ts";
import { signEnvelope, verifyEnvelope } from "../../src/auth/envelope_signature.ts";
import {
  checkContentDigest,
  parseSignatureHeader,
  parseSignatureInput,
  signatureBase,
  verifyHttpSignature,
} from "../../src/auth/http_signature.ts";
import type { KeyAlg } from "../../src/keys/server_keys.ts";

const TRICKY = {
  z: 1,
  a: 'é and 😀, \u007f DEL, \u0001 control, \ud800 lone surrogate, "quotes" \\ and </script>',
  "ä": [null, true, false, 1.5, -0.25, 1e21, 12345678901234, { "😀": "x", B: [], A: {} }],
  nested: { "\u00e9": "\u2028\u2029", "": 0 },
};

Deno.test("sdk canonicalJson() writes the server's bytes in the Python and JCS forms, numbers as written too", () => {
  assert.equal(sdk.canonicalJson(TRICKY, "python"), canonicalJson(TRICKY, { asciiEscape: true }));
  assert.equal(sdk.canonicalJson(TRICKY, "jcs"), canonicalJson(TRICKY));
  assert.notEqual(sdk.canonicalJson(TRICKY, "python"), sdk.canonicalJson(TRICKY, "jcs"));
  assert.deepEqual(sdk.canonicalForms(TRICKY), canonicalForms(TRICKY));
  const text = '{"b":5.0,"a":[1e-07,2.50,-0,12345678901234567890],"c":"ü"}';
  const ours = sdk.parseKeepingNumberLiterals(text);
  assert.equal(
    sdk.canonicalJson(ours),
    canonicalJson(parseKeepingNumberLiterals(text), { asciiEscape: true }),
  );
  assert.equal(sdk.canonicalJson(ours), '{"a":[1e-07,2.50,-0,12345678901234567890],"b":5.0,"c":"\\u00fc"}');
  assert.throws(() => new sdk.NumberLiteral("5,0"), /not a JSON number/);
});

function keyPair(alg: KeyAlg): { pem: string; privateKey: KeyObject; publicKey: KeyObject } {
  const pair = alg === "ed25519"
    ? generateKeyPairSync("ed25519")
    : generateKeyPairSync("rsa", { modulusLength: 2048 });
  return { ...pair, pem: pair.privateKey.export({ format: "pem", type: "pkcs8" }) as string };
}

function envelope(senderId: string) {
  return sdk.buildEnvelope(
    sdk.searchMessage([{ query: { type: "UIN", value: "Zoë-😀-001" } }]),
    { senderId, action: "search", receiverId: "dci-server" },
  );
}

for (const alg of ["ed25519", "rsa-sha256"] as const) {
  Deno.test(`sdk signEnvelope() (${alg}, Python and JCS forms) verifies with the server's verifyEnvelope; a changed byte does not`, async () => {
    const pair = keyPair(alg);
    const key = await sdk.senderKey("sdk-sender", "k1", pair.pem);
    assert.equal(key.alg, alg);
    for (const form of ["python", "jcs"] as const) {
      const signed = await sdk.signedEnvelope(envelope("sdk-sender"), key, { form });
      const resolveKey = (s: string, k: string, a: KeyAlg) =>
        s === "sdk-sender" && k === "k1" && a === alg ? pair.publicKey : undefined;
      const result = verifyEnvelope(signed, { nowMs: Date.now(), resolveKey });
      assert.equal(result.ok, true, `${form}: ${JSON.stringify(result)}`);
      const changed = JSON.parse(sdk.toJson(signed).replace("Zo\u00eb-", "Zoe-"));
      assert.deepEqual(verifyEnvelope(changed, { nowMs: Date.now(), resolveKey }), {
        ok: false,
        failure: { reason: "mismatch" },
      });
    }
  });

  Deno.test(`the server's signEnvelope() (${alg}) verifies with sdk verifyEnvelope(); a changed byte, an expired one do not`, async () => {
    const pair = keyPair(alg);
    const env = envelope("dci-server");
    const signature = signEnvelope(env, { kid: `dci-server|s1|${alg}`, alg, privateKey: pair.privateKey }, {
      nowMs: Date.now(),
    });
    const jwk = await sdk.importPublicKey(pair.publicKey.export({ format: "jwk" }) as JsonWebKey);
    const pem = await sdk.importPublicKey(pair.publicKey.export({ format: "pem", type: "spki" }) as string);
    for (const k of [jwk, pem]) {
      const resolveKey = (p: sdk.SignatureParams) => p.kid === `dci-server|s1|${alg}` ? k.key : undefined;
      const ok = await sdk.verifyEnvelope({ ...env, signature }, { resolveKey });
      assert.equal(ok.ok, true, JSON.stringify(ok));
      const changed = { ...env, header: { ...env.header, total_count: 2 }, signature };
      assert.deepEqual(await sdk.verifyEnvelope(changed, { resolveKey }), { ok: false, reason: "mismatch" });
      const later = await sdk.verifyEnvelope({ ...env, signature }, {
        resolveKey,
        nowMs: Date.now() + 400_000,
      });
      assert.deepEqual(later, { ok: false, reason: "expired" });
    }
  });
}

Deno.test("sdk signs numbers as written (NumberLiteral); the server verifies them only from the body's text", async () => {
  const pair = keyPair("ed25519");
  const key = await sdk.senderKey("py-like", "k1", pair.pem);
  const env = sdk.buildEnvelope({
    amount: new sdk.NumberLiteral("5.0"),
    tiny: new sdk.NumberLiteral("1e-07"),
  }, {
    senderId: "py-like",
    action: "search",
  });
  const body = sdk.toJson(await sdk.signedEnvelope(env, key));
  assert.match(body, /"amount":5\.0,"tiny":1e-07/);
  const resolveKey = () => pair.publicKey;
  assert.equal(
    verifyEnvelope(JSON.parse(body), { nowMs: Date.now(), resolveKey, sourceText: body }).ok,
    true,
  );
  assert.equal(verifyEnvelope(JSON.parse(body), { nowMs: Date.now(), resolveKey }).ok, false);
});

Deno.test("sdk imports PKCS#1 RSA and JWK private keys and refuses an encrypted or public one", async () => {
  const pair = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const pkcs1 = await sdk.importPrivateKey(
    pair.privateKey.export({ format: "pem", type: "pkcs1" }) as string,
  );
  const jwk = await sdk.importPrivateKey(pair.privateKey.export({ format: "jwk" }) as JsonWebKey);
  const ed = await sdk.importPrivateKey(
    generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" }) as JsonWebKey,
  );
  assert.deepEqual([pkcs1.alg, jwk.alg, ed.alg], ["rsa-sha256", "rsa-sha256", "ed25519"]);
  const enc = pair.privateKey.export({
    format: "pem",
    type: "pkcs8",
    cipher: "aes-256-cbc",
    passphrase: "x",
  });
  await assert.rejects(sdk.importPrivateKey(enc as string), /decrypt the key first/);
  await assert.rejects(
    sdk.importPrivateKey(pair.publicKey.export({ format: "pem", type: "spki" }) as string),
    /not a private key/,
  );
});

const B26_PRIV = "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF";

Deno.test("sdk signRequest() gives RFC 9421 B.2.6's bytes, and the server verifies its default signatures (Ed25519, RSA)", async () => {
  const pem = `-----BEGIN PRIVATE KEY-----\n${B26_PRIV}\n-----END PRIVATE KEY-----\n`;
  const b26 = await sdk.senderKey("rfc", "test-key-ed25519", pem);
  const headers = await sdk.signRequest(
    {
      method: "POST",
      url: "https://example.com/foo?param=Value&Pet=dog",
      headers: {
        date: "Tue, 20 Apr 2021 02:07:55 GMT",
        "content-type": "application/json",
        "content-length": "18",
      },
      body: '{"hello": "world"}',
    },
    b26,
    {
      components: ["date", "@method", "@path", "@authority", "content-type", "content-length"],
      nowMs: 1618884473_000,
      label: "sig-b26",
      alg: false,
    },
  );
  assert.equal(
    headers.get("signature"),
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
  );
  for (const alg of ["ed25519", "rsa-sha256"] as const) {
    const pair = keyPair(alg);
    const key = await sdk.senderKey("s", "k1", pair.pem);
    const req = { method: "POST", url: "http://127.0.0.1:8080/registry/sync/search", body: '{"ü":1}' };
    const signed = await sdk.signRequest({ ...req, headers: { "content-type": "application/json" } }, key);
    const input = parseSignatureInput(signed.get("signature-input")!)![0];
    assert.deepEqual([input.components, input.params.keyid], [sdk.DEFAULT_COMPONENTS, "k1"]);
    const sig = parseSignatureHeader(signed.get("signature")!)!.get(input.label)!;
    const base = signatureBase({ ...req, headers: signed }, input.components, input.raw);
    const algParam = typeof input.params.alg === "string" ? input.params.alg : undefined;
    assert.equal(verifyHttpSignature(base, sig, pair.publicKey, algParam), true);
    assert.equal(verifyHttpSignature(base.replace("POST", "PUT"), sig, pair.publicKey, algParam), false);
    assert.equal(checkContentDigest(signed.get("content-digest")!, new TextEncoder().encode(req.body)), true);
    assert.equal(
      checkContentDigest(signed.get("content-digest")!, new TextEncoder().encode('{"u":1}')),
      false,
    );
  }
  // The B.2.6 key is the RFC's, as the server reads it.
  const priv = createPrivateKey({ key: Buffer.from(B26_PRIV, "base64"), format: "der", type: "pkcs8" });
  assert.equal(createPublicKey(priv).asymmetricKeyType, "ed25519");
});
