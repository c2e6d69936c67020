/**
 * Access tokens refuse forged headers: alg none, HS256 keyed with our public key, a typ other than at+jwt, an
 * unknown crit parameter, the other key type's alg. Forgeries are built by hand here (node:crypto), so the
 * test does not share code with the verifier; a control token built the same way must pass.
 */
import assert from "node:assert/strict";
import { createHmac, sign } from "node:crypto";
import { Buffer } from "node:buffer";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { createApp } from "../helpers/app.ts";
import { authenticate } from "../../src/auth/middleware.ts";
import { TokenError, tokenIssuer, verifyAccessToken } from "../../src/auth/jwt.ts";

const b64url = (v: unknown) =>
  Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

function claims(deps: TestDeps, clientId = "client-1", senderId = "sender-1") {
  const iat = Math.floor(deps.clock.now() / 1000);
  return {
    ...tokenIssuer(deps),
    sub: senderId,
    client_id: clientId,
    scope: "registry.search",
    iat,
    exp: iat + 600,
    jti: crypto.randomUUID(),
  };
}

/** A compact JWS over `header` and `payload` signed with the server's active key (EdDSA). */
function signedWithServerKey(deps: TestDeps, header: Record<string, unknown>, payload: unknown): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${sign(null, Buffer.from(input), deps.keys.active().privateKey).toString("base64url")}`;
}

/** Runs `fn` with fresh test deps, closed afterwards. */
async function withDeps(fn: (deps: TestDeps) => Promise<void>): Promise<void> {
  const deps = await testDeps();
  try {
    await fn(deps);
  } finally {
    deps.close();
  }
}

async function refused(deps: TestDeps, token: string, message: RegExp): Promise<void> {
  await assert.rejects(
    async () => await verifyAccessToken(deps, token),
    (err: unknown) => err instanceof TokenError && message.test(err.message),
  );
}

Deno.test("verifyAccessToken() accepts the control token: EdDSA, typ at+jwt, our kid, no crit", () =>
  withDeps(async (deps) => {
    const header = { alg: "EdDSA", typ: "at+jwt", kid: deps.keys.active().kid };
    const c = claims(deps);
    await assert.doesNotReject(async () =>
      await verifyAccessToken(deps, signedWithServerKey(deps, header, c))
    );
  }));

Deno.test("verifyAccessToken() refuses alg none (with and without a signature)", () =>
  withDeps(async (deps) => {
    const kid = deps.keys.active().kid;
    for (const alg of ["none", "None", "NONE"]) {
      const input = `${b64url({ alg, typ: "at+jwt", kid })}.${b64url(claims(deps))}`;
      await refused(deps, `${input}.`, /not a JWT|alg/);
      await refused(deps, `${input}.${b64url("x")}`, /alg|signature/);
    }
  }));

Deno.test("verifyAccessToken() refuses HS256 keyed with the server's public key (PEM, DER, JWK x)", () =>
  withDeps(async (deps) => {
    const { kid, publicKey } = deps.keys.active();
    const secrets = [
      publicKey.export({ format: "pem", type: "spki" }) as string,
      publicKey.export({ format: "der", type: "spki" }) as Uint8Array,
      Buffer.from(publicKey.export({ format: "jwk" }).x as string, "base64url"),
    ];
    for (const secret of secrets) {
      const input = `${b64url({ alg: "HS256", typ: "at+jwt", kid })}.${b64url(claims(deps))}`;
      const mac = createHmac("sha256", secret).update(input).digest("base64url");
      await refused(deps, `${input}.${mac}`, /alg "?HS256"? is not allowed|alg is not allowed/);
    }
  }));

Deno.test("verifyAccessToken() refuses a correctly signed token whose typ is not at+jwt", () =>
  withDeps(async (deps) => {
    const kid = deps.keys.active().kid;
    for (const typ of ["JWT", "dpop+jwt", "application/jwt", undefined]) {
      const header = { alg: "EdDSA", kid, ...(typ ? { typ } : {}) };
      await refused(deps, signedWithServerKey(deps, header, claims(deps)), /typ/);
    }
  }));

Deno.test("verifyAccessToken() refuses a correctly signed token with a crit parameter it does not understand", () =>
  withDeps(async (deps) => {
    const kid = deps.keys.active().kid;
    const header = {
      alg: "EdDSA",
      typ: "at+jwt",
      kid,
      crit: ["urn:example:must-check"],
      "urn:example:must-check": 1,
    };
    await refused(deps, signedWithServerKey(deps, header, claims(deps)), /critical/);
  }));

Deno.test("verifyAccessToken() refuses RS256 under the kid of an Ed25519 key", () =>
  withDeps(async (deps) => {
    const header = { alg: "RS256", typ: "at+jwt", kid: deps.keys.active().kid };
    await refused(deps, signedWithServerKey(deps, header, claims(deps)), /alg/);
  }));

Deno.test("authenticate() answers 401 to a bearer token with a forged typ or crit, and 200 to the control", async () => {
  const deps = await testDeps();
  try {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    app.post("/dci_api/v1/test/echo", authenticate(deps, "registry.search"), (c) => c.json({ ok: true }));
    const kid = deps.keys.active().kid;
    const c = () => claims(deps, alice.clientId, alice.senderId);
    const tokens = {
      control: signedWithServerKey(deps, { alg: "EdDSA", typ: "at+jwt", kid }, c()),
      typ: signedWithServerKey(deps, { alg: "EdDSA", typ: "JWT", kid }, c()),
      crit: signedWithServerKey(
        deps,
        { alg: "EdDSA", typ: "at+jwt", kid, crit: ["x-must"], "x-must": 1 },
        c(),
      ),
    };
    for (const [name, token] of Object.entries(tokens)) {
      const res = await app.request("/dci_api/v1/test/echo", {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify(alice.sign(requestEnvelope(alice.senderId, {}, { nowMs: deps.clock.now() }))),
      });
      const body = await res.json();
      assert.equal(res.status, name === "control" ? 200 : 401, `${name}: ${JSON.stringify(body)}`);
      if (name !== "control") assert.equal(body.message.error.code, "err.request.unauthorized");
    }
  } finally {
    deps.close();
  }
});
