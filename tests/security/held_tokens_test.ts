/**
 * What held (issue 11): at the HTTP bearer check, access tokens are refused unless a server key signed them:
 * `alg: none`, HS256 keyed with the server's public key, tokens a sender signs with its own registered key
 * (under its DCI kid, its key id or the server's kid), keys carried in the token header, and the tokens of the
 * other realm (a sender's token on the admin API, an admin token on the registry). Forgeries are built by hand
 * (node:crypto), so they share no code with the verifier; the genuine token is the control.
 */
import assert from "node:assert/strict";
import { createHmac, type KeyObject, sign } from "node:crypto";
import { Buffer } from "node:buffer";
import { withTestDeps } from "../helpers/deps.ts";
import type { TestDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { searchMessage } from "../transactions/support.ts";
import { adminCaller } from "./held_support.ts";
import { createApp } from "../helpers/app.ts";
import { tokenIssuer } from "../../src/auth/jwt.ts";
import type { OutboundClient } from "../../src/net/outbound.ts";

const b64url = (v: unknown) =>
  Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

/** A compact JWS: `signer` gets the signing input and returns the signature bytes (none: empty). */
function jws(header: Record<string, unknown>, payload: unknown, signer?: (input: Buffer) => Buffer): string {
  const input = `${b64url(header)}.${b64url(payload)}`;
  return `${input}.${signer ? signer(Buffer.from(input)).toString("base64url") : ""}`;
}

const ed25519 = (key: KeyObject) => (input: Buffer) => sign(null, input, key);
const rs256 = (key: KeyObject) => (input: Buffer) => sign("sha256", input, key);
const hs256 = (secret: string | Uint8Array) => (input: Buffer) =>
  createHmac("sha256", secret).update(input).digest();

function claims(deps: TestDeps, sender: TestSender) {
  const iat = Math.floor(deps.clock.now() / 1000);
  return {
    ...tokenIssuer(deps),
    sub: sender.senderId,
    client_id: sender.clientId,
    scope: "registry.search registry.txn-status",
    iat,
    exp: iat + 600,
    jti: crypto.randomUUID(),
  };
}

/** An outbound client that fails the test if the server tries to fetch anything (a jku, an x5u). */
function noOutbound(calls: string[]): OutboundClient {
  const refuse = (url: string) => {
    calls.push(url);
    return Promise.reject(new Error(`the server fetched ${url}`));
  };
  return { check: refuse, request: refuse };
}

/** A sync search signed by `signer`, sent with `token` as its bearer: status, challenge and body. */
async function syncSearch(
  deps: TestDeps,
  app: ReturnType<typeof createApp>,
  signer: TestSender,
  token: string,
) {
  const env = signer.sign(requestEnvelope(signer.senderId, searchMessage("t-tok"), {
    nowMs: deps.clock.now(),
    totalCount: 1,
  }));
  const res = await app.request("/registry/sync/search", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
    body: JSON.stringify(env),
  });
  return { status: res.status, auth: res.headers.get("www-authenticate"), body: await res.json() };
}

Deno.test("held: bearer tokens signed by a sender's own key, alg none, HS256 with the public key or a header-carried key get 401", () =>
  withTestDeps({ rateLimitMinute: "10000" }, async (deps) => {
    const fetched: string[] = [];
    deps.http = noOutbound(fetched);
    const alice = await createTestSender(deps);
    const bobRsa = await createTestSender(deps, { alg: "rsa-sha256" });
    const app = createApp(deps);
    const server = deps.keys.active();
    const serverPem = server.publicKey.export({ format: "pem", type: "spki" }) as string;
    const aliceKid = `${alice.senderId}|${alice.keyId}|ed25519`;
    const aliceJwk = alice.publicKey.export({ format: "jwk" });
    const c = claims(deps, alice);
    const forged: Record<string, string> = {
      "sender key, its DCI kid": jws(
        { alg: "EdDSA", typ: "at+jwt", kid: aliceKid },
        c,
        ed25519(alice.privateKey),
      ),
      "sender key, its key id": jws(
        { alg: "EdDSA", typ: "at+jwt", kid: alice.keyId },
        c,
        ed25519(alice.privateKey),
      ),
      "sender key, the server's kid": jws(
        { alg: "EdDSA", typ: "at+jwt", kid: server.kid },
        c,
        ed25519(alice.privateKey),
      ),
      "sender key, no kid": jws({ alg: "EdDSA", typ: "at+jwt" }, c, ed25519(alice.privateKey)),
      "sender RSA key, RS256": jws(
        { alg: "RS256", typ: "at+jwt", kid: `${bobRsa.senderId}|${bobRsa.keyId}|rsa-sha256` },
        claims(deps, bobRsa),
        rs256(bobRsa.privateKey),
      ),
      "sender key in a jwk header": jws(
        { alg: "EdDSA", typ: "at+jwt", kid: server.kid, jwk: aliceJwk },
        c,
        ed25519(alice.privateKey),
      ),
      "sender key behind a jku": jws(
        { alg: "EdDSA", typ: "at+jwt", kid: aliceKid, jku: "https://attacker.example/jwks.json" },
        c,
        ed25519(alice.privateKey),
      ),
      "alg none, no signature": jws({ alg: "none", typ: "at+jwt", kid: server.kid }, c),
      "alg none, a signature": jws(
        { alg: "none", typ: "at+jwt", kid: server.kid },
        c,
        () => Buffer.from("x"),
      ),
      "HS256 keyed with the server's public key (PEM)": jws(
        { alg: "HS256", typ: "at+jwt", kid: server.kid },
        c,
        hs256(serverPem),
      ),
      "HS256 keyed with the server's public key (raw)": jws(
        { alg: "HS256", typ: "at+jwt", kid: server.kid },
        c,
        hs256(Buffer.from(server.publicKey.export({ format: "jwk" }).x as string, "base64url")),
      ),
      "HS256 keyed with the sender's public key": jws(
        { alg: "HS256", typ: "at+jwt", kid: aliceKid },
        c,
        hs256(alice.publicKey.export({ format: "pem", type: "spki" }) as string),
      ),
    };
    const replayRows = async () => Number((await deps.sql("SELECT COUNT(*) AS n FROM replay_guard"))[0].n);
    const call = (token: string) => syncSearch(deps, app, alice, token);
    const before = await replayRows();
    for (const [name, token] of Object.entries(forged)) {
      const r = await call(token);
      assert.equal(r.status, 401, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.message.error.code, "err.request.unauthorized", name);
      assert.equal(r.auth, 'Bearer realm="dci", error="invalid_token"', name);
    }
    assert.equal(await replayRows(), before, "no refused request reached the replay guard");
    assert.deepEqual(fetched, [], "no key was fetched from a token header");
    // The control: the server's own token for the same client and envelope.
    assert.equal((await call(alice.token)).status, 200);
  }));

Deno.test("held: a sender's access token is refused on the admin API and an admin token on the registry", () =>
  withTestDeps({}, async (deps) => {
    const alice = await createTestSender(deps);
    const app = createApp(deps);
    const res = await app.request("/admin/v1/senders", { headers: alice.headers() });
    assert.equal(res.status, 401);
    assert.equal((await res.json()).message.error.code, "err.request.unauthorized");
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    assert.equal((await syncSearch(deps, app, alice, token)).status, 401);
    // Controls: each token works in its own realm.
    assert.equal((await (await adminCaller(app, deps))("GET", "/senders")).status, 200);
    assert.equal((await syncSearch(deps, app, alice, alice.token)).status, 200);
  }));
