/** End to end through the real server: admin API, token endpoint, bearer + signature, replay, revocation, JWKS. */
import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { postJson, runCliProcess, startServerProcess } from "../helpers/server.ts";
import { createServerSender, fetchToken } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { signEnvelope } from "../../src/auth/envelope_signature.ts";

const ADMIN = "admin-token-for-e2e-tests-0123456789";

async function admin(url: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${url}/admin/v1${path}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

const SEARCH = { search_request: [] };

Deno.test("e2e: admin API registers a sender, key and client; the client gets a token and calls a registry endpoint", async () => {
  const jwks = generateKeyPairSync("ed25519");
  const jwksServer = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    () =>
      Response.json({
        keys: [
          { ...jwks.publicKey.export({ format: "jwk" }), kid: "j1", alg: "EdDSA", use: "sig" },
          // An encryption key beside it is skipped, and named in the answer.
          { ...jwks.publicKey.export({ format: "jwk" }), kid: "e1", use: "enc" },
        ],
      }),
  );
  const server = await startServerProcess({
    env: { DCI_ADMIN_TOKEN: ADMIN, DCI_OUTBOUND_ALLOW: "127.0.0.1" },
  });
  try {
    const { url } = server;
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    assert.equal(
      (await admin(url, "POST", "/senders", { sender_id: "spmis.example", name: "SPMIS" })).status,
      201,
    );
    assert.equal((await admin(url, "POST", "/senders", { sender_id: "spmis.example" })).status, 409);
    assert.equal((await admin(url, "POST", "/senders", { sender_id: "bad id!" })).status, 400);
    // Lists come a page at a time (keyset): two senders, one a page.
    assert.equal(
      (await admin(url, "POST", "/senders", { sender_id: "other.example", name: "Other" })).status,
      201,
    );
    const first = await admin(url, "GET", "/senders?limit=1");
    assert.equal(first.body.senders.length, 1);
    assert.equal(typeof first.body.next_after, "string");
    const second = await admin(
      url,
      "GET",
      `/senders?limit=1&after=${encodeURIComponent(first.body.next_after)}`,
    );
    assert.deepEqual(
      [first.body.senders[0].sender_id, second.body.senders[0].sender_id, second.body.next_after],
      ["other.example", "spmis.example", null],
    );
    assert.equal(
      (await admin(url, "GET", "/senders?search=SPMIS")).body.senders[0].sender_id,
      "spmis.example",
    );
    assert.equal((await admin(url, "GET", "/senders?limit=501")).status, 400);
    assert.equal((await admin(url, "GET", "/clients?after=nonsense")).status, 400);
    const pem = publicKey.export({ format: "pem", type: "spki" });
    assert.equal(
      (await admin(url, "POST", "/senders/spmis.example/keys", { key_id: "k1", pem: "garbage" })).status,
      400,
    );
    assert.equal(
      (await admin(url, "POST", "/senders/spmis.example/keys", { key_id: "k1", pem })).status,
      201,
    );
    const created = await admin(url, "POST", "/clients", {
      sender_id: "spmis.example",
      scopes: ["registry.search"],
    });
    assert.equal(created.status, 201);
    const { client_id, client_secret } = created.body;
    assert.match(client_secret, /^dcis_/);
    const listed = await admin(url, "GET", "/clients");
    assert.ok(!JSON.stringify(listed.body).includes(client_secret), "a secret is never listed");
    assert.equal(listed.body.next_after, null);

    // Token endpoint: form + Basic, form body, JSON body; RFC 6749 errors.
    const token = await fetchToken(url, client_id, client_secret);
    const form = await fetch(`${url}/oauth2/client/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ grant_type: "client_credentials", client_id, client_secret }),
    });
    assert.equal(form.status, 200);
    const viaJson = await postJson(`${url}/dci_api/v1/oauth2/client/token`, {
      grant_type: "client_credentials",
      client_id,
      client_secret,
    });
    assert.equal(viaJson.status, 200);
    assert.equal(viaJson.body.token_type, "Bearer");
    assert.equal(viaJson.body.expires_in, 3600);
    const wrong = await postJson(`${url}/oauth2/client/token`, {
      grant_type: "client_credentials",
      client_id,
      client_secret: "nope",
    });
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error, "invalid_client");
    const grant = await postJson(`${url}/oauth2/client/token`, {
      grant_type: "password",
      client_id,
      client_secret,
    });
    assert.equal(grant.body.error, "unsupported_grant_type");
    const scope = await postJson(`${url}/oauth2/client/token`, {
      grant_type: "client_credentials",
      client_id,
      client_secret,
      scope: "registry.subscribe",
    });
    assert.equal(scope.status, 400);
    assert.equal(scope.body.error, "invalid_scope");

    // A signed registry request is accepted; the same message again is a duplicate; a revoked client stops.
    const key = { kid: "spmis.example|k1|ed25519", alg: "ed25519" as const, privateKey };
    const env = requestEnvelope("spmis.example", SEARCH);
    const signed = { ...env, signature: signEnvelope(env, key, { nowMs: Date.now() }) };
    const auth = { authorization: `Bearer ${token}` };
    const ok = await postJson(`${url}/registry/sync/search`, signed, auth);
    assert.ok(![401, 403, 429].includes(ok.status), JSON.stringify(ok.body));
    assert.ok(ok.headers.get("ratelimit-policy"));
    const dup = await postJson(`${url}/registry/sync/search`, signed, auth);
    assert.equal(dup.status, 409);
    assert.equal(
      (dup.body.header as Record<string, unknown>).status_reason_code,
      "rjct.message_id.duplicate",
    );
    const unsigned = await postJson(
      `${url}/registry/sync/search`,
      requestEnvelope("spmis.example", SEARCH),
      auth,
    );
    assert.equal(unsigned.status, 401);
    assert.equal((unsigned.body.message as { error: { code: string } }).error.code, "err.signature.missing");
    assert.equal((await admin(url, "POST", `/clients/${client_id}/revoke`)).status, 200);
    const env2 = requestEnvelope("spmis.example", SEARCH);
    const revoked = await postJson(`${url}/registry/sync/search`, {
      ...env2,
      signature: signEnvelope(env2, key, { nowMs: Date.now() }),
    }, auth);
    assert.equal(revoked.status, 401);

    // JWKS fetch through the guarded client: an allowlisted loopback URL works, one outside the allowlist is
    // refused (127.0.0.2: were the guard to let it through, the connection would still stay on this machine).
    const jwksUrl = `http://127.0.0.1:${jwksServer.addr.port}/jwks.json`;
    assert.equal((await admin(url, "PATCH", "/senders/spmis.example", { jwks_url: jwksUrl })).status, 200);
    const fetched = await admin(url, "POST", "/senders/spmis.example/keys/fetch");
    assert.equal(fetched.status, 200, JSON.stringify(fetched.body));
    assert.deepEqual(fetched.body.keys.map((k: { key_id: string }) => k.key_id).sort(), ["j1", "k1"]);
    assert.equal(fetched.body.skipped.length, 1);
    assert.match(fetched.body.skipped[0], /key #1 \(e1\)/);
    await admin(url, "PATCH", "/senders/spmis.example", { jwks_url: "http://127.0.0.2/jwks.json" });
    const refused = await admin(url, "POST", "/senders/spmis.example/keys/fetch");
    assert.equal(refused.status, 502);
    assert.match(refused.body.error, /blocked/);
    const shown = await admin(url, "GET", "/senders/spmis.example");
    assert.equal(shown.body.jwks_fetch_status, "error");
    assert.equal(shown.body.keys_version > 0, true);
    // The key fetched from the old URL went with it (a failed fetch of the same URL keeps them: the store's test).
    const left = (await admin(url, "GET", "/senders/spmis.example/keys")).body.keys;
    assert.deepEqual(left.map((k: { key_id: string; source: string }) => [k.key_id, k.source]), [[
      "k1",
      "manual",
    ]]);
  } finally {
    await server.stop();
    await jwksServer.shutdown();
  }
});

Deno.test("e2e: the test helper registers a sender in a running server; token for another sender is 403", async () => {
  const server = await startServerProcess();
  try {
    const alice = await createServerSender(server);
    const bob = await createServerSender(server, { alg: "rsa-sha256" });
    const ok = await postJson(
      `${server.url}/registry/sync/search`,
      bob.sign(requestEnvelope(bob.senderId, SEARCH)),
      bob.headers(),
    );
    assert.ok(![401, 403].includes(ok.status), JSON.stringify(ok.body));
    const cross = await postJson(
      `${server.url}/registry/sync/search`,
      bob.sign(requestEnvelope(bob.senderId, SEARCH)),
      alice.headers(),
    );
    assert.equal(cross.status, 403);
    assert.equal((cross.body.message as { error: { code: string } }).error.code, "err.request.forbidden");
  } finally {
    await server.stop();
  }
});

Deno.test("e2e: CLI manages senders, keys and clients", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-auth-cli-" });
  const env = { DCI_DATA_DIR: dataDir };
  try {
    assert.equal((await runCliProcess(["migrate"], env)).code, 0);
    const add = await runCliProcess(
      ["sender", "add", "gov.example", "--name", "Gov", "--limit-minute", "5", "--json"],
      env,
    );
    assert.equal(add.code, 0, add.stderr);
    assert.equal(JSON.parse(add.stdout).limit_minute, 5);
    assert.equal((await runCliProcess(["sender", "add", "gov.example"], env)).code, 1);
    const pemFile = `${dataDir}/k.pem`;
    await Deno.writeTextFile(
      pemFile,
      generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }) as string,
    );
    const key = await runCliProcess(["sender", "key", "add", "gov.example", "k1", "--file", pemFile], env);
    assert.equal(key.code, 0, key.stderr);
    const bad = await runCliProcess([
      "sender",
      "key",
      "add",
      "gov.example",
      "k2",
      "--file",
      `${dataDir}/k.pem`,
      "--alg",
      "rsa-sha256",
    ], env);
    assert.equal(bad.code, 1);
    const client = await runCliProcess([
      "client",
      "create",
      "--sender",
      "gov.example",
      "--scopes",
      "registry.search",
    ], env);
    assert.equal(client.code, 0, client.stderr);
    const clientId = /client_id:\s+(\S+)/.exec(client.stdout)![1];
    const list = await runCliProcess(["client", "list"], env);
    assert.match(list.stdout, new RegExp(clientId));
    assert.ok(!list.stdout.includes("dcis_"));
    assert.equal((await runCliProcess(["client", "revoke", clientId], env)).code, 0);
    assert.equal((await runCliProcess(["sender", "disable", "gov.example"], env)).code, 0);
    const show = await runCliProcess(["sender", "show", "gov.example", "--json"], env);
    assert.equal(JSON.parse(show.stdout).active, false);
    assert.equal(JSON.parse(show.stdout).keys.length, 1);
    assert.equal((await runCliProcess(["sender", "remove", "gov.example"], env)).code, 0);
    assert.equal((await runCliProcess(["sender", "show", "gov.example"], env)).code, 1);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
