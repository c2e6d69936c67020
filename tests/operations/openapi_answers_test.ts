import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { AnswerChecker } from "./openapi_support.ts";

type App = ReturnType<typeof createApp>;

const writes = (method: string) => method === "POST" || method === "PUT" || method === "PATCH";

/** Calls the app and checks the answer against the document; returns the status and JSON body. */
function caller(app: App, checker: AnswerChecker, headers: Record<string, string>) {
  return async (method: string, path: string, body?: unknown, extra: Record<string, string> = {}) => {
    const res = await app.request(path, {
      method,
      // The admin and registry routes take POST, PUT and PATCH bodies as JSON only, an empty one included.
      headers: { ...headers, ...(writes(method) ? { "content-type": "application/json" } : {}), ...extra },
      body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
    });
    const text = await res.text();
    const json = text === "" ? null : JSON.parse(text);
    const route = path.split("?")[0];
    assert.deepEqual(
      checker.errors(method, route, res.status, json),
      [],
      `${method} ${path} → ${res.status}`,
    );
    return { status: res.status, body: json, headers: res.headers };
  };
}

async function setUp(overrides: Record<string, string> = {}) {
  const deps = await testDeps(overrides);
  const app = createApp(deps);
  const doc = await (await app.request("/dci_api/v1/openapi.json")).json();
  const { token } = await deps.storage.adminTokens.create({ role: "admin" });
  const { token: viewer } = await deps.storage.adminTokens.create({ role: "viewer" });
  const checker = new AnswerChecker(doc);
  return { deps, app, checker, admin: caller(app, checker, { authorization: `Bearer ${token}` }), viewer };
}

Deno.test("admin API: real answers of the senders, keys and clients routes match the document's schemas", async () => {
  const { deps, app, checker, admin, viewer } = await setUp();
  try {
    const pem = generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }) as string;
    assert.equal(
      (await admin("POST", "/admin/v1/senders", { sender_id: "p1", name: "Partner" })).status,
      201,
    );
    assert.equal((await admin("POST", "/admin/v1/senders", { sender_id: "p1" })).status, 409);
    assert.equal(
      (await admin("POST", "/admin/v1/senders", { sender_id: "p2", limit_minute: 0 })).status,
      400,
    );
    await admin("POST", "/admin/v1/senders", {
      sender_id: "p2",
      outbound_auth: {
        type: "oauth2",
        token_url: "https://p2.example/t",
        client_id: "c",
        client_secret: "s",
      },
      signature_policy: "optional",
    });
    assert.equal((await admin("GET", "/admin/v1/senders")).body.senders.length, 2);
    assert.equal((await admin("GET", "/admin/v1/senders/p2")).body.outbound_auth.client_secret_set, true);
    // Every field of a sender's answer is in the document's Sender (extra fields pass the schema check unseen).
    const sender = (await admin("GET", "/admin/v1/senders/p2")).body as Record<string, unknown>;
    const doc = await (await app.request("/dci_api/v1/openapi.json")).json();
    const documented = Object.keys(doc.components.schemas.Sender.properties);
    assert.deepEqual(Object.keys(sender).filter((k) => !documented.includes(k)), []);
    assert.equal((await admin("GET", "/admin/v1/senders/nobody")).status, 404);
    assert.equal(
      (await admin("PATCH", "/admin/v1/senders/p1", { limit_day: 5, test_mode: true })).status,
      200,
    );
    assert.equal((await admin("POST", "/admin/v1/senders/p1/keys", { key_id: "k1", pem })).status, 201);
    assert.equal((await admin("POST", "/admin/v1/senders/p1/keys", { key_id: "k2" })).status, 400);
    assert.equal((await admin("GET", "/admin/v1/senders/p1/keys")).body.keys[0].key_id, "k1");
    assert.equal((await admin("POST", "/admin/v1/senders/p1/keys/fetch")).status, 400); // no jwks_url
    const form = { "content-type": "text/plain", "content-length": "2" };
    assert.equal((await admin("POST", "/admin/v1/senders/p1/keys/fetch", "{}", form)).status, 415);
    const client = await admin("POST", "/admin/v1/clients", { sender_id: "p1", scopes: ["registry.search"] });
    assert.equal(client.status, 201);
    assert.equal(client.headers.get("cache-control"), "no-store");
    const id = client.body.client_id;
    assert.equal((await admin("GET", "/admin/v1/clients?sender_id=p1")).body.clients.length, 1);
    assert.match((await admin("POST", `/admin/v1/clients/${id}/rotate-secret`)).body.client_secret, /^dcis_/);
    assert.equal((await admin("POST", `/admin/v1/clients/${id}/revoke`)).body.active, false);
    assert.equal((await admin("POST", `/admin/v1/clients/${id}/revoke`)).status, 404);
    assert.deepEqual(Object.keys((await admin("POST", "/admin/v1/senders/p1/disable")).body.held).sort(), [
      "notifications",
      "subscriptions",
      "transactions",
    ]);
    assert.ok("resumed" in (await admin("POST", "/admin/v1/senders/p1/enable")).body);
    assert.equal((await admin("DELETE", "/admin/v1/senders/p1/keys/k1")).status, 204);
    assert.equal((await admin("DELETE", "/admin/v1/senders/p2")).status, 204);
    // Failures are the documented ERR ACKs: no token, a viewer writing.
    const anonymous = caller(app, checker, {});
    assert.equal((await anonymous("GET", "/admin/v1/senders")).status, 401);
    const asViewer = caller(app, checker, { authorization: `Bearer ${viewer}` });
    assert.equal((await asViewer("GET", "/admin/v1/senders")).status, 200);
    assert.equal((await asViewer("POST", "/admin/v1/senders", { sender_id: "p3" })).status, 403);
  } finally {
    deps.close();
  }
});

Deno.test("admin API: transactions, subscriptions, notifications, registrants and locations answers match the document", async () => {
  const { deps, admin } = await setUp();
  try {
    await admin("POST", "/admin/v1/senders", { sender_id: "p1" });
    assert.equal((await admin("GET", "/admin/v1/transactions")).status, 200);
    assert.equal((await admin("GET", "/admin/v1/transactions/nope")).status, 404);
    assert.equal((await admin("GET", "/admin/v1/subscriptions")).status, 200);
    assert.equal((await admin("GET", "/admin/v1/notifications")).status, 200);
    // An offset is read row by row: a deep one is refused (before pages at any depth).
    for (const list of ["subscriptions", "notifications"]) {
      assert.equal((await admin("GET", `/admin/v1/${list}?offset=10000`)).status, 200);
      assert.equal((await admin("GET", `/admin/v1/${list}?offset=1000000000000000`)).status, 400);
    }
    assert.equal((await admin("GET", "/admin/v1/subscriptions/nope")).status, 404);
    const person = {
      id: "P-1",
      identifier: [{ identifier_type: "NID", identifier_value: "P-1" }],
      name: { given_name: "Ana", surname: "Diaz" },
    };
    assert.equal((await admin("POST", "/admin/v1/registrants", person)).status, 201);
    assert.equal((await admin("GET", "/admin/v1/registrants/P-1")).status, 200);
    assert.equal((await admin("GET", "/admin/v1/registries/social/registrants")).status, 200);
    assert.equal((await admin("GET", "/admin/v1/registry/events")).status, 200);
    assert.equal((await admin("DELETE", "/admin/v1/registrants/P-1")).status, 200);
    assert.equal((await admin("GET", "/admin/v1/locations")).status, 200);
  } finally {
    deps.close();
  }
});

Deno.test("token endpoint: form, JSON with db_name and Basic answers and its errors match the document", async () => {
  const { deps, app, checker, admin } = await setUp();
  try {
    await admin("POST", "/admin/v1/senders", { sender_id: "p1" });
    const { body: c } = await admin("POST", "/admin/v1/clients", {
      sender_id: "p1",
      scopes: ["registry.search"],
    });
    const call = caller(app, checker, {});
    const form = { "content-type": "application/x-www-form-urlencoded" };
    const params = `grant_type=client_credentials&client_id=${c.client_id}&client_secret=${c.client_secret}`;
    const byForm = await call("POST", "/oauth2/client/token", params, form);
    assert.equal(byForm.status, 200);
    assert.equal(byForm.body.scope, "registry.search");
    const byJson = await call("POST", "/dci_api/v1/oauth2/client/token", {
      grant_type: "client_credentials",
      client_id: c.client_id,
      client_secret: c.client_secret,
      db_name: "your_db",
    });
    assert.equal(byJson.status, 200);
    const basic = { ...form, authorization: `Basic ${btoa(`${c.client_id}:${c.client_secret}`)}` };
    assert.equal(
      (await call("POST", "/oauth2/client/token", "grant_type=client_credentials", basic)).status,
      200,
    );
    const wrong = await call("POST", "/oauth2/client/token", `${params}x`, form);
    assert.deepEqual([wrong.status, wrong.body.error], [401, "invalid_client"]);
    const grant = await call("POST", "/oauth2/client/token", "grant_type=password", form);
    assert.deepEqual([grant.status, grant.body.error], [400, "unsupported_grant_type"]);
    const scope = await call("POST", "/oauth2/client/token", `${params}&scope=registry.subscribe`, form);
    assert.deepEqual([scope.status, scope.body.error], [400, "invalid_scope"]);
    // A body over the token endpoint's bound is refused in RFC 6749's shape too, as documented.
    const big = await call("POST", "/oauth2/client/token", `${params}&pad=${"a".repeat(9000)}`, form);
    assert.deepEqual([big.status, big.body.error], [413, "invalid_request"]);
  } finally {
    deps.close();
  }
});

Deno.test("system routes: healthz, readyz, metrics and the JWKS answer as documented", async () => {
  const { deps, app, checker } = await setUp({ metricsToken: "m".repeat(24) });
  try {
    const call = caller(app, checker, {});
    assert.equal((await call("GET", "/healthz")).body.status, "ok");
    assert.equal((await call("GET", "/readyz")).body.checks.database, "ok");
    assert.equal((await call("GET", "/.well-known/jwks.json")).body.keys.length, 1);
    assert.equal((await call("GET", "/metrics")).status, 401);
    const res = await app.request("/metrics", { headers: { authorization: `Bearer ${"m".repeat(24)}` } });
    assert.equal(res.status, 200);
    const type = res.headers.get("content-type")!;
    assert.ok(checker.doc.paths["/metrics"].get.responses["200"].content[type], `metrics media type ${type}`);
    assert.match(await res.text(), /^# (HELP|TYPE) /m);
  } finally {
    deps.close();
  }
});
