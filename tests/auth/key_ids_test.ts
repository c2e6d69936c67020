/**
 * Key ids may hold `_`: RFC 7638 JWK thumbprints (base64url) are common kids. A thumbprint names a key added by
 * hand, one fetched from a JWKS, and the key an envelope's kidId names; `.`, `..` and other characters stay
 * refused.
 */
import assert from "node:assert/strict";
import { createHash, createPrivateKey } from "node:crypto";
import { testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { createApp } from "../helpers/app.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { authenticate } from "../../src/auth/middleware.ts";
import { signEnvelope } from "../../src/auth/envelope_signature.ts";
import { parseJwks } from "../../src/senders/jwks_fetch.ts";
import { addSenderKey, checkKeyId } from "../../src/senders/keys.ts";
import { SenderError } from "../../src/senders/errors.ts";

/** RFC 8037 A.1/A.2: the Ed25519 key pair, and A.3 its RFC 7638 thumbprint. */
const RFC8037_PUBLIC = { kty: "OKP", crv: "Ed25519", x: "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo" };
const RFC8037_D = "nWGxne_9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A";
const RFC8037_THUMBPRINT = "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k";
/** RFC 7638 §3.1: the RSA key of RFC 7517 A.1 and its thumbprint. */
const RFC7638_RSA = {
  kty: "RSA",
  e: "AQAB",
  n: "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3o" +
    "knjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu" +
    "6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8aw" +
    "apJzKnqDKgw",
};
const RFC7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs";

/** The RFC 7638 thumbprint of a JWK: base64url SHA-256 of its required members, sorted, without whitespace. */
function thumbprint(jwk: Record<string, string>, members: string[]): string {
  const json = JSON.stringify(Object.fromEntries(members.map((m) => [m, jwk[m]])));
  return createHash("sha256").update(json).digest("base64url");
}

Deno.test("checkKeyId() takes RFC 7638 thumbprints (with _) and still refuses ., .. and other characters", () => {
  assert.equal(thumbprint(RFC8037_PUBLIC, ["crv", "kty", "x"]), RFC8037_THUMBPRINT);
  assert.equal(thumbprint(RFC7638_RSA, ["e", "kty", "n"]), RFC7638_THUMBPRINT);
  for (const ok of [RFC8037_THUMBPRINT, RFC7638_THUMBPRINT, "_", "k_1", "a.b:c-d_e", "x".repeat(99), "..."]) {
    checkKeyId(ok);
  }
  for (const bad of ["", ".", "..", "a b", "k/1", "k|1", "clé", "x".repeat(100)]) {
    assert.throws(
      () => checkKeyId(bad),
      (e) =>
        e instanceof SenderError &&
        e.message ===
          `key_id ${JSON.stringify(bad)} must be [A-Za-z0-9_.:-], 1 to 99 characters, not . or ..`,
      bad,
    );
  }
});

Deno.test("a thumbprint kid names a key from a JWKS, one added by hand, and the key an envelope's kidId names", async () => {
  const { keys } = parseJwks(JSON.stringify({
    keys: [
      { ...RFC7638_RSA, kid: RFC7638_THUMBPRINT },
      { ...RFC8037_PUBLIC, kid: `partner|${RFC8037_THUMBPRINT}|ed25519` },
    ],
  }));
  assert.deepEqual(keys.map((k) => k.keyId), [RFC7638_THUMBPRINT, RFC8037_THUMBPRINT]);
  const deps = await testDeps();
  try {
    const partner = await createTestSender(deps);
    await addSenderKey(deps, partner.senderId, { keyId: RFC8037_THUMBPRINT, material: RFC8037_PUBLIC });
    const app = createApp(deps);
    app.post("/dci_api/v1/test/auth", authenticate(deps, "registry.search"), (c) => c.json(c.get("auth")));
    const env = requestEnvelope(partner.senderId, {}, { nowMs: deps.clock.now() });
    const privateKey = createPrivateKey({ key: { ...RFC8037_PUBLIC, d: RFC8037_D }, format: "jwk" });
    const kid = `${partner.senderId}|${RFC8037_THUMBPRINT}|ed25519`;
    const signature = signEnvelope(env, { kid, alg: "ed25519", privateKey }, { nowMs: deps.clock.now() });
    const res = await app.request("http://localhost/dci_api/v1/test/auth", {
      method: "POST",
      headers: { "content-type": "application/json", ...partner.headers() },
      body: JSON.stringify({ ...env, signature }),
    });
    const body = await res.json();
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.equal(body.keyId, RFC8037_THUMBPRINT);
  } finally {
    deps.close();
  }
});
