import assert from "node:assert/strict";
import { createHash, createPrivateKey, createPublicKey, sign as nodeSign } from "node:crypto";
import { Buffer } from "node:buffer";
import {
  checkContentDigest,
  contentDigest,
  parseSignatureHeader,
  parseSignatureInput,
  signatureBase,
  signHttpRequest,
  verifyHttpSignature,
} from "../../src/auth/http_signature.ts";
import { verifyEnvelope } from "../../src/auth/envelope_signature.ts";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { createApp } from "../helpers/app.ts";
import { authenticate } from "../../src/auth/middleware.ts";

const ED_PUB = "MCowBQYDK2VwAyEAJrQLj5P/89iXES9+vFgrIy29clF9CC/oPPsw3c5D0bs=";
const ED_PRIV = "MC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF";
const RSA_PSS_PUB = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAr4tmm3r20Wd/PbqvP1s2" +
  "+QEtvpuRaV8Yq40gjUR8y2Rjxa6dpG2GXHbPfvMs8ct+Lh1GH45x28Rw3Ry53mm+" +
  "oAXjyQ86OnDkZ5N8lYbggD4O3w6M6pAvLkhk95AndTrifbIFPNU8PPMO7OyrFAHq" +
  "gDsznjPFmTOtCEcN2Z1FpWgchwuYLPL+Wokqltd11nqqzi+bJ9cvSKADYdUAAN5W" +
  "Utzdpiy6LbTgSxP7ociU4Tn0g5I6aDZJ7A8Lzo0KSyZYoA485mqcO0GVAdVw9lq4" +
  "aOT9v6d+nb4bnNkQVklLQ3fVAvJm+xdDOp9LCNCN48V2pnDOkFV6+U9nV5oyc6XI" +
  "2wIDAQAB";

function rfcRequest() {
  return {
    method: "POST",
    url: "https://example.com/foo?param=Value&Pet=dog",
    headers: new Headers({
      date: "Tue, 20 Apr 2021 02:07:55 GMT",
      "content-type": "application/json",
      "content-length": "18",
      "content-digest":
        "sha-512=:WZDPaVn/7XgHaAy8pmojAkGWoRx2UFChF41A2svX+TaPm+AbwAgBWnrIiYllu7BNNyealdVLvRwEmTHWXvJwew==:",
    }),
  };
}

Deno.test("RFC 9421 B.2.6: Ed25519 signing gives the RFC's bytes and verifies; a changed base does not", () => {
  const priv = createPrivateKey({ key: Buffer.from(ED_PRIV, "base64"), format: "der", type: "pkcs8" });
  const pub = createPublicKey({ key: Buffer.from(ED_PUB, "base64"), format: "der", type: "spki" });
  const components = ["date", "@method", "@path", "@authority", "content-type", "content-length"];
  const signed = signHttpRequest(rfcRequest(), priv, {
    keyId: "test-key-ed25519",
    components,
    created: 1618884473,
    label: "sig-b26",
  });
  assert.equal(
    signed.signature,
    "sig-b26=:wqcAqbmYJ2ji2glfAMaRy4gruYYnx2nEFN2HN6jrnDnQCK1u02Gb04v9EDgwUPiu4A0w6vuQv5lIp5WPpBKRCw==:",
  );
  assert.equal(
    signed.signatureInput,
    'sig-b26=("date" "@method" "@path" "@authority" "content-type" "content-length");created=1618884473;keyid="test-key-ed25519"',
  );
  const input = parseSignatureInput(signed.signatureInput)![0];
  const sig = parseSignatureHeader(signed.signature)!.get("sig-b26")!;
  const base = signatureBase(rfcRequest(), input.components, input.raw);
  assert.equal(verifyHttpSignature(base, sig, pub), true);
  assert.equal(verifyHttpSignature(base.replace("POST", "PUT"), sig, pub), false);
});

Deno.test("RFC 9421 B.2.1: the RFC's rsa-pss-sha512 signature verifies with test-key-rsa-pss", () => {
  const pub = createPublicKey({ key: Buffer.from(RSA_PSS_PUB, "base64"), format: "der", type: "spki" });
  const input = parseSignatureInput(
    'sig-b21=();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
  )![0];
  assert.deepEqual(input.components, []);
  assert.equal(input.params.keyid, "test-key-rsa-pss");
  const sig = parseSignatureHeader(
    "sig-b21=:d2pmTvmbncD3xQm8E9ZV2828BjQWGgiwAaw5bAkgibUopemLJcWDy/lkbbHAve4cRAtx31Iq786U7it++wgGxbtRxf8Udx7zFZsckzXaJMkA7ChG52eSkFxykJeNqsrWH5S+oxNFlD4dzVuwe8DhTSja8xxbR/Z2cOGdCbzR72rgFWhzx2VjBqJzsPLMIQKhO4DGezXehhWwE56YCE+O6c0mKZsfxVrogUvA4HELjVKWmAvtl6UnCh8jYzuVG5WSb/QEVPnP5TmcAnLH1g+s++v6d4s8m0gCw1fV5/SITLq9mhho8K3+7EPYTU8IU1bLhdxO5Nyt8C8ssinQ98Xw9Q==:",
  )!.get("sig-b21")!;
  const base = signatureBase(rfcRequest(), input.components, input.raw);
  assert.equal(
    base,
    '"@signature-params": ();created=1618884473;keyid="test-key-rsa-pss";nonce="b3k2pp5k7z-50gnwp.yemd"',
  );
  assert.equal(verifyHttpSignature(base, sig, pub, "rsa-pss-sha512"), true);
  assert.equal(
    verifyHttpSignature(base.replace("1618884473", "1618884474"), sig, pub, "rsa-pss-sha512"),
    false,
  );
});

Deno.test("RFC 9530 Content-Digest: the RFC body digest matches; another body does not", () => {
  const body = new TextEncoder().encode('{"hello": "world"}');
  assert.equal(checkContentDigest(rfcRequest().headers.get("content-digest")!, body), true);
  assert.equal(checkContentDigest(contentDigest(body), body), true);
  assert.equal(
    checkContentDigest(contentDigest(body), new TextEncoder().encode('{"hello": "World"}')),
    false,
  );
  assert.equal(checkContentDigest("md5=:abc=:", body), false);
  // An algorithm named twice (each copy would hash the whole body again) refuses the header.
  assert.equal(checkContentDigest(`${contentDigest(body)}, ${contentDigest(body)}`, body), false);
});

/** Python's json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True), written independently. */
function pythonDumps(value: unknown): string {
  const sorted = (v: unknown): unknown =>
    Array.isArray(v)
      ? v.map(sorted)
      : v && typeof v === "object"
      ? Object.fromEntries(Object.keys(v).sort().map((k) => [k, sorted((v as Record<string, unknown>)[k])]))
      : v;
  return JSON.stringify(sorted(value)).replace(
    /[\u0080-\uffff]/g,
    (c) => "\\u" + c.charCodeAt(0).toString(16).padStart(4, "0"),
  );
}

Deno.test("An envelope signed the OpenSPP way verifies; one changed byte of the message does not", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const env = requestEnvelope(
      alice.senderId,
      { search_request: [{ name: "José Ñúñez", city: "Zürich" }] },
      {
        nowMs: deps.clock.now(),
      },
    );
    const created = Math.floor(deps.clock.now() / 1000);
    const expires = created + 120;
    const digest = createHash("sha256").update(pythonDumps({ header: env.header, message: env.message }))
      .digest(
        "base64",
      );
    const signingString = `(created): ${created}\n(expires): ${expires}\ndigest: ${digest}`;
    const sig = nodeSign(null, Buffer.from(signingString), alice.privateKey).toString("base64");
    const signature = `namespace="dci", kidId="${alice.senderId}|k1|ed25519", algorithm="ed25519", ` +
      `created="${created}", expires="${expires}", headers="(created) (expires) digest", signature="${sig}"`;
    const resolveKey = () => alice.publicKey;
    assert.equal(verifyEnvelope({ ...env, signature }, { nowMs: deps.clock.now(), resolveKey }).ok, true);
    const changed = structuredClone(env);
    (changed.message.search_request as Array<Record<string, string>>)[0].city = "Zurich";
    assert.equal(
      verifyEnvelope({ ...changed, signature }, { nowMs: deps.clock.now(), resolveKey }).ok,
      false,
    );
  } finally {
    deps.close();
  }
});

Deno.test("authenticate() accepts an RFC 9421 signature with Content-Digest and refuses a changed body", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    app.post("/dci_api/v1/test/h", authenticate(deps, "registry.search"), (c) => c.json(c.get("auth")));
    const url = "http://localhost/dci_api/v1/test/h";
    const send = (body: string, components: string[], digestOf = body) => {
      const headers = new Headers({
        "content-type": "application/json",
        "content-digest": contentDigest(digestOf),
        ...alice.headers(),
      });
      const s = signHttpRequest({ method: "POST", url, headers }, alice.privateKey, {
        keyId: "k1",
        components,
        created: Math.floor(deps.clock.now() / 1000),
      });
      headers.set("signature-input", s.signatureInput);
      headers.set("signature", s.signature);
      return app.request(url, { method: "POST", headers, body });
    };
    const all = ["@method", "@target-uri", "content-digest"];
    const body = () => JSON.stringify(requestEnvelope(alice.senderId, {}, { nowMs: deps.clock.now() }));
    const ok = await send(body(), all);
    assert.equal(ok.status, 200, await ok.clone().text());
    assert.equal((await ok.json()).keyId, "k1");
    const b = body();
    assert.equal((await send(b, all, b.replace("search", "searcH"))).status, 401);
    // A component covered twice, though signed as sent: refused before any base is built of it.
    const twice = await send(body(), [...all, "content-digest"]);
    assert.equal(twice.status, 401);
    assert.match((await twice.json()).message.error.message, /covered more than once/);
    const noDigest = await send(body(), ["@method", "@target-uri"]);
    assert.equal(noDigest.status, 401);
    assert.match((await noDigest.json()).message.error.message, /content-digest/);
    // `expires` (an sf-integer, as `created`): one passed is refused, and so is one written as a string.
    const withExpires = async (expires: string) => {
      const text = body();
      const headers = new Headers({
        "content-type": "application/json",
        "content-digest": contentDigest(text),
        ...alice.headers(),
      });
      const raw = `(${all.map((c) => `"${c}"`).join(" ")});created=${
        Math.floor(deps.clock.now() / 1000) - 100
      };expires=${expires};keyid="k1"`;
      const base = signatureBase({ method: "POST", url, headers }, all, raw);
      headers.set("signature-input", `sig1=${raw}`);
      headers.set(
        "signature",
        `sig1=:${nodeSign(null, Buffer.from(base), alice.privateKey).toString("base64")}:`,
      );
      const res = await app.request(url, { method: "POST", headers, body: text });
      return [res.status, res.status === 200 ? "" : (await res.json()).message.error.message];
    };
    const now = Math.floor(deps.clock.now() / 1000);
    assert.deepEqual(await withExpires(String(now + 60)), [200, ""]);
    assert.deepEqual(await withExpires(String(now - 50)), [
      401,
      "HTTP message signature: signature has expired",
    ]);
    assert.deepEqual(await withExpires(`"${now - 50}"`), [
      401,
      "HTTP message signature: expires must be an integer",
    ]);
  } finally {
    deps.close();
  }
});
