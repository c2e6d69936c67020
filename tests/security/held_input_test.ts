/**
 * What held (issue 11): SQL injection, deep JSON and oversized bodies are handled on every route. The routes
 * come from the Hono app (`app.routes`) and the admin query parameters from the OpenAPI document, so a new
 * route or parameter is covered without touching this test. (Search queries: tests/registry/query_test.ts.)
 */
import assert from "node:assert/strict";
import { type Harness, type Json, searchMessage } from "../transactions/support.ts";
import { adminCaller, databaseFingerprint, populated } from "./held_support.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { issueAccessToken } from "../../src/auth/jwt.ts";
import { createClient, SCOPES } from "../../src/senders/clients.ts";
import { updateSender } from "../../src/senders/store.ts";

const INJECTIONS = [
  "' OR '1'='1",
  '" OR ""="',
  "1 OR 1=1",
  "x'; DROP TABLE registrants; --",
  "%' OR 1=1 --",
  "') OR ('a'='a",
  "' UNION SELECT id, hash, salt FROM admin_tokens --",
];
/** Parameters that bound a range or a page: any value may legitimately select every row. */
const RANGES = new Set(["limit", "offset", "before", "after", "since", "until"]);
const BODY_METHODS = new Set(["POST", "PUT", "PATCH"]);

/** Unique (method, path) pairs of the app's routes (middleware entries left out). */
function routes(h: Harness, pred: (method: string, path: string) => boolean): Array<[string, string]> {
  const seen = new Set<string>();
  const out: Array<[string, string]> = [];
  for (const r of h.app.routes) {
    const key = `${r.method} ${r.path}`;
    if (r.method === "ALL" || seen.has(key) || !pred(r.method, r.path)) continue;
    seen.add(key);
    out.push([r.method, r.path]);
  }
  return out;
}

Deno.test("held: SQL metacharacters in every admin path and query parameter are data: no 5xx, no extra rows, nothing changed", async () => {
  const { h } = await populated();
  try {
    const admin = await adminCaller(h.app, h.deps);
    const doc = await (await h.app.request("/dci_api/v1/openapi.json")).json();
    const queryOf = (path: string): string[] => {
      const op = doc.paths[path.replace(/:(\w+)/g, "{$1}")]?.get;
      const names = (op?.parameters ?? []).filter((p: Json) => p.in === "query").map((p: Json) => p.name);
      return path === "/admin/v1/clients" ? [...names, "sender_id"] : names;
    };
    const gets = routes(h, (m, p) => m === "GET" && p.startsWith("/admin/v1/"));
    assert.ok(gets.length >= 12, `${gets.length} admin GET routes`);
    const before = await databaseFingerprint(h.deps, ["admin_tokens"]);
    let filtered = 0;
    for (const [, path] of gets) {
      for (const value of INJECTIONS) {
        const target = path.replace(/:(\w+)/g, () => encodeURIComponent(value)).slice("/admin/v1".length);
        const r = await admin("GET", target);
        assert.ok(r.status < 500, `GET ${target}: ${r.status}`);
        if (path.includes(":")) assert.ok([400, 404].includes(r.status), `GET ${target}: ${r.status}`);
        for (const name of queryOf(path)) {
          const q = await admin("GET", `${target}?${name}=${encodeURIComponent(value)}`);
          assert.ok(q.status < 500, `GET ${path}?${name}=${value}: ${q.status}`);
          if (RANGES.has(name) || q.status !== 200 || path.includes(":")) continue;
          // A CSV export (audit.csv) answers its header line and one line per selected row.
          const list = typeof q.body === "string"
            ? q.body.trim().split("\n").slice(1)
            : Object.values(q.body as Json).find(Array.isArray) as unknown[];
          assert.deepEqual(list, [], `GET ${path}?${name}=${value} selected rows`);
          filtered++;
        }
      }
    }
    assert.ok(filtered >= 40, `${filtered} filtered lists checked`);
    assert.equal(await databaseFingerprint(h.deps, ["admin_tokens"]), before, "nothing changed");
    // A registry search with the same values finds nothing either (values are bound parameters).
    for (const value of INJECTIONS) {
      const msg = searchMessage("t-sqli");
      (msg.search_request as Json[])[0].search_criteria.query = { type: "UIN", value };
      const r = await h.post("/registry/sync/search", msg);
      assert.equal(r.status, 200);
      assert.deepEqual((r.body.message as Json).search_response[0].data.reg_records, [], value);
    }
  } finally {
    h.close();
  }
});

/** Alice's bearer with every scope (IBR's enrollment updates need one no client gets by default). */
async function allScopesBearer(h: Harness): Promise<string> {
  const { client } = await createClient(h.deps, h.alice.senderId, { scopes: [...SCOPES] });
  const { token } = await issueAccessToken(h.deps, {
    senderId: h.alice.senderId,
    clientId: client.client_id,
    scopes: [...SCOPES],
  });
  return token;
}

/** Credentials for a route: the registry bearer on the registry, an admin token on the admin API, none else. */
function credentials(adminToken: string, bearer: string, path: string): Record<string, string> {
  if (path.startsWith("/admin/v1/")) return { authorization: `Bearer ${adminToken}` };
  if (path.includes("/registry/")) return { authorization: `Bearer ${bearer}` };
  return {};
}

Deno.test("held: JSON nested 20,000 deep on every route that takes a body is refused (admin: never 5xx), and the server keeps answering", async () => {
  const { h } = await populated();
  try {
    const { token } = await h.deps.storage.adminTokens.create({ role: "admin" });
    const bearer = await allScopesBearer(h);
    // Every refused request counts against its sender's limits: this many would meet the minute limit first.
    await updateSender(h.deps, h.alice.senderId, { limit_minute: 100_000, limit_day: 1_000_000 });
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    // On the registry, deep inside a signed envelope whose header passes: what the signature check would walk.
    const envelope = (path: string) => {
      const action = path.endsWith("txn/status") ? "txn-status" : path.split("/").pop();
      const env = requestEnvelope(h.alice.senderId, { transaction_id: "t-deep", extra: "@@" }, {
        action,
        nowMs: h.deps.clock.now(),
        header: { sender_uri: "https://alice.example/cb" },
      });
      return JSON.stringify(h.alice.sign(env)).replace('"@@"', deep);
    };
    const others = [
      deep,
      `{"sender_id":"x","name":${deep},"jwk":{"kty":${deep}},"attributes":{"a":${deep}},"grant_type":${deep}}`,
    ];
    const targets = routes(h, (m) => BODY_METHODS.has(m));
    assert.ok(targets.length >= 30, `${targets.length} routes take a body`);
    for (const [method, path] of targets) {
      const url = path.replace(/:(\w+)/g, "x");
      // The console's Registry pages are not the registry API (their forms are not signed envelopes).
      const registry = path.includes("/registry/") && !path.startsWith("/console/");
      const signed = registry ? envelope(path) : undefined;
      for (const body of signed ? [signed, ...others] : others) {
        const res = await h.app.request(url, {
          method,
          headers: { "content-type": "application/json", ...credentials(token, bearer, path) },
          body,
        });
        const text = await res.text();
        // The admin API keeps a deep value as data (V8's JSON is not recursive) or refuses it; the registry and
        // the token endpoint refuse it.
        const refused = res.status >= 400 && res.status < 500;
        assert.ok(
          refused || (res.status < 500 && path.startsWith("/admin/v1/")),
          `${method} ${path}: ${res.status} ${text.slice(0, 200)}`,
        );
        if (body === signed) assert.match(text, /nested deeper than 64 levels/, path);
      }
    }
    assert.equal((await h.app.request("/healthz")).status, 200);
  } finally {
    h.close();
  }
});

Deno.test("held: a body over the limit answers 413 on every route that takes one, declared or streamed", async () => {
  const { h } = await populated({ bodyLimit: "4096" });
  try {
    const { token } = await h.deps.storage.adminTokens.create({ role: "admin" });
    const bearer = await allScopesBearer(h);
    const big = JSON.stringify({ pad: "x".repeat(8192) });
    const stream = () =>
      new ReadableStream<Uint8Array>({
        start(ctl) {
          const bytes = new TextEncoder().encode(big);
          for (let i = 0; i < bytes.length; i += 1000) ctl.enqueue(bytes.slice(i, i + 1000));
          ctl.close();
        },
      });
    // An import upload has its own, larger limit (DCI_IMPORT_UPLOAD_MAX_BYTES): tests/registry/import_jobs_test.ts.
    const upload = (path: string) => /\/imports$/.test(path);
    for (const [method, path] of routes(h, (m, p) => BODY_METHODS.has(m) && !upload(p))) {
      const url = path.replace(/:(\w+)/g, "x");
      const headers = { "content-type": "application/json", ...credentials(token, bearer, path) };
      const declared = await h.app.request(url, {
        method,
        headers: { ...headers, "content-length": String(big.length) },
        body: big,
      });
      assert.equal(declared.status, 413, `${method} ${path} (declared)`);
      const streamed = await h.app.request(
        url,
        { method, headers, body: stream(), duplex: "half" } as RequestInit,
      );
      // A route that never reads its body (an action on an id that does not exist) has nothing to refuse, nor
      // has a console form posted without a session or, to log in, without the login form's cookie (refused unread).
      const unread = path.startsWith("/console/") ? 403 : 404;
      assert.ok(
        streamed.status === 413 || (streamed.status === unread && !path.includes("/registry/")),
        `${method} ${path} (streamed): ${streamed.status} ${(await streamed.text()).slice(0, 200)}`,
      );
    }
  } finally {
    h.close();
  }
});
