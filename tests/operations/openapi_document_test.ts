import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { type Json, operations } from "./openapi_support.ts";
import { SCOPES } from "../../src/system/openapi_security.ts";
import { ACTIONS } from "../../src/dci/actions.ts";
import { HEADER_RJCT_CODES } from "../../src/dci/errors.ts";

/** Mounted GET routes that are not in the document, each with its reason. */
const EXCLUDED: Record<string, string> = {
  "/dci_api/v1/openapi.json": "the document itself",
  "/dci_api/v1/docs": "the Swagger UI page over the document",
  "/dci_api/v1/docs/swagger-ui-bundle.js": "the docs page's script",
  "/dci_api/v1/docs/swagger-ui.css": "the docs page's stylesheet",
  "/dci_api/v1/docs/init.js": "the docs page's start script",
};

/** Path prefixes left out of the document, each with its reason. */
const EXCLUDED_PREFIXES: Record<string, string> = {
  "/console": "the operator console: HTML pages and forms for a browser session, not an API (tests/console)",
};

async function withApp(
  overrides: Record<string, string>,
  fn: (app: ReturnType<typeof createApp>, doc: Json) => Promise<void>,
) {
  const deps = await testDeps(overrides);
  try {
    const app = createApp(deps);
    const res = await app.request("/dci_api/v1/openapi.json");
    assert.equal(res.status, 200);
    await fn(app, await res.json());
  } finally {
    deps.close();
  }
}

const colon = (template: string) => template.replace(/\{([^}]+)\}/g, ":$1");

Deno.test("OpenAPI document: every route the app mounts is in it, but the documented exclusions, and nothing else is", async () => {
  // Two registries unserved, so their refusal routes are mounted too.
  await withApp({ registries: "social,crvs,dr" }, async (app, doc) => {
    const documented = new Set(operations(doc).map((o) => `${o.method} ${colon(o.path)}`));
    const mounted = new Set<string>();
    for (const { method, path } of app.routes) {
      mounted.add(`${method} ${path}`);
      if (Object.keys(EXCLUDED_PREFIXES).some((p) => path === p || path.startsWith(`${p}/`))) continue;
      if (method === "ALL") {
        // Middleware, and refusals of what a registry's spec lacks or this deployment does not serve: a POST
        // there serves nothing (the ERR ACK, 404).
        const res = await app.request(path.replace("*", "x"), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: "{}",
        });
        assert.ok(res.status === 404 || res.status === 401, `ALL ${path} answered ${res.status}`);
        await res.body?.cancel();
        continue;
      }
      if (EXCLUDED[path] !== undefined && method === "GET") continue;
      assert.ok(documented.has(`${method} ${path}`), `${method} ${path} is mounted but not in the document`);
    }
    for (const d of documented) assert.ok(mounted.has(d), `${d} is documented but not mounted`);
    for (const path of Object.keys(EXCLUDED)) {
      assert.ok(mounted.has(`GET ${path}`), `${path} is excluded in vain`);
    }
    assert.ok(
      !documented.has("POST /dci_api/v1/fr/registry/sync/search"),
      "an unserved registry is left out",
    );
    assert.ok(
      documented.has("POST /oauth2/client/token") && documented.has("POST /admin/v1/senders/:id/keys"),
    );
  });
});

Deno.test("OpenAPI document: every operation requires what the server checks (registry: token with its scope and DCI signature; admin: admin token; public: nothing)", async () => {
  await withApp({}, (_app, doc) => {
    const schemes = doc.components.securitySchemes;
    // Relative to the servers entry (itself relative to the document), as Swagger UI resolves it.
    assert.deepEqual(schemes.oauth2.flows.clientCredentials.tokenUrl, "oauth2/client/token");
    assert.deepEqual(
      Object.keys(schemes.oauth2.flows.clientCredentials.scopes).sort(),
      Object.keys(SCOPES).sort(),
    );
    assert.deepEqual([schemes.bearerToken.type, schemes.bearerToken.scheme], ["http", "bearer"]);
    assert.deepEqual([schemes.dciSignature.type, schemes.dciSignature.in, schemes.dciSignature.name], [
      "apiKey",
      "header",
      "Signature",
    ]);
    assert.match(schemes.dciSignature.description, /envelope's `signature` field.*Signature-Input/s);
    assert.deepEqual([schemes.adminToken.type, schemes.adminToken.scheme], ["http", "bearer"]);
    const ids = new Set<string>();
    for (const { method, path, op } of operations(doc)) {
      const where = `${method} ${path}`;
      assert.ok(Array.isArray(op.security), `${where} declares no security`);
      assert.ok(op.operationId && !ids.has(op.operationId), `${where}: operationId ${op.operationId}`);
      ids.add(op.operationId);
      if (path.startsWith("/admin/v1/")) {
        assert.deepEqual(op.security, [{ adminToken: [] }], where);
        assert.ok(op.responses["401"] && op.responses["403"], `${where} documents 401 and 403`);
      } else if (/\/registry\//.test(path)) {
        const [flow, pasted] = op.security;
        assert.equal(flow.oauth2.length, 1, where);
        assert.ok(flow.oauth2[0] in SCOPES, `${where} scope ${flow.oauth2[0]}`);
        assert.deepEqual(flow.dciSignature, [], where);
        assert.deepEqual(pasted, { bearerToken: [], dciSignature: [] }, where);
      } else if (path.endsWith("/oauth2/client/token")) {
        assert.deepEqual(op.security, [{ clientCredentials: [] }, {}], where);
      } else if (path === "/metrics") {
        assert.deepEqual(op.security, [{ metricsToken: [] }, {}], where);
      } else {
        assert.deepEqual(op.security, [], `${where} is public`);
      }
    }
    const search = doc.paths["/dci_api/v1/crvs/registry/sync/search"].post.security;
    assert.deepEqual(search[0].oauth2, ["registry.search"]);
    return Promise.resolve();
  });
});

Deno.test("OpenAPI document: the token URL follows DCI_PUBLIC_URL behind a proxy", async () => {
  await withApp({ publicUrl: "https://gw.example.org/dci/" }, (_app, doc) => {
    const flow = doc.components.securitySchemes.oauth2.flows.clientCredentials;
    assert.equal(flow.tokenUrl, "https://gw.example.org/dci/oauth2/client/token");
    return Promise.resolve();
  });
});

Deno.test("OpenAPI document: each async action has its answer callback (subscribe also notify), and webhooks describe every callback", async () => {
  await withApp({}, (_app, doc) => {
    const schemas = doc.components.schemas;
    const ref = (body: Json) =>
      body.content["application/json"].schema.$ref.replace("#/components/schemas/", "");
    for (const spec of ACTIONS.filter((a) => a.mode === "async")) {
      const op = doc.paths[`/dci_api/v1/social/registry${spec.path}`]?.post ??
        doc.paths[`/dci_api/v1/crvs/registry${spec.path}`].post;
      const names = Object.keys(op.callbacks);
      assert.deepEqual(
        names,
        spec.family === "subscribe" ? [spec.callbackAction, "notify"] : [spec.callbackAction],
      );
      for (const name of names) {
        const [[expression, item]] = Object.entries(op.callbacks[name] as Record<string, Json>);
        assert.match(expression, /^\{\$request\.body#\/header\/sender_uri\}\/registry\//);
        const schema = schemas[ref(item.post.requestBody)];
        assert.ok(schema, `${spec.name} callback ${name}: schema ${ref(item.post.requestBody)}`);
        assert.deepEqual(Object.keys(schema.properties).sort(), ["header", "message", "signature"]);
      }
    }
    assert.deepEqual(Object.keys(doc.webhooks).sort(), [
      "notify",
      "on-receipt",
      "on-search",
      "on-subscribe",
      "on-unsubscribe",
      "txn-on-status",
    ]);
    const notify = schemas[ref(doc.webhooks.notify.post.requestBody)];
    assert.equal(notify.properties.message.$ref, "#/components/schemas/NotifyEventRequest");
    assert.deepEqual(schemas.NotifyEventRequest.required, ["transaction_id", "notify_event"]);
    return Promise.resolve();
  });
});

/** The headers an answer callback or notify declares: its id header, and on a search's answer the bulk page's. */
function callbackHeaders(name: string): string[][] {
  if (name === "notify") return [["header", "X-DCI-Notification-ID"]];
  return [["header", "X-DCI-Transaction-ID"], ...(name === "on-search" ? [["header", "X-DCI-Page"]] : [])];
}

Deno.test("OpenAPI document: every answer declares X-Request-ID (and WWW-Authenticate, Cache-Control, RateLimit where sent), every 429 and 503 Retry-After (not /readyz's), callbacks their id header", async () => {
  await withApp({}, async (app, doc) => {
    assert.equal(doc.components.headers["X-Request-ID"].schema.type, "string");
    let answers = 0, retries = 0, rateLimited = 0;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, Json>>)) {
      for (const [method, op] of Object.entries(item)) {
        for (const [status, response] of Object.entries(op.responses as Record<string, Json>)) {
          const at = `${method} ${path} ${status}`;
          assert.equal(response.headers?.["X-Request-ID"]?.$ref, "#/components/headers/X-Request-ID", at);
          answers++;
          // A 401 its challenge; the token endpoint's answers no-store; a registry answer past the rate limit its
          // quota (bulk search by file and every registry action: their security names the DCI signature).
          const signed = (op.security ?? []).some((s: Json) => "dciSignature" in s);
          assert.equal(
            !!response.headers["WWW-Authenticate"],
            status === "401" || (signed && status === "403"),
            at,
          );
          // The token endpoint's answers, and the admin answers showing a client secret once.
          const secret = path.endsWith("/oauth2/client/token") ||
            (path === "/admin/v1/clients" && method === "post" && status === "201") ||
            (path.endsWith("/rotate-secret") && status === "200");
          assert.equal(!!response.headers["Cache-Control"], secret, at);
          const limited = signed && ["200", "202", "400", "409", "429", "500", "503"].includes(status);
          assert.equal(!!response.headers.RateLimit && !!response.headers["RateLimit-Policy"], limited, at);
          if (limited) rateLimited++;
          if ((status === "429" || status === "503") && path !== "/readyz") {
            assert.equal(response.headers["Retry-After"]?.schema?.type, "integer", at);
            retries++;
          }
        }
        for (const [name, callback] of Object.entries((op.callbacks ?? {}) as Record<string, Json>)) {
          const [cb] = Object.values(callback) as Json[];
          assert.deepEqual(
            cb.post.parameters.map((p: Json) => [p.in, p.name]),
            callbackHeaders(name),
            `${path} ${name}`,
          );
        }
      }
    }
    assert.ok(answers > 500 && retries > 100, `${answers} answers, ${retries} with Retry-After`);
    assert.ok(rateLimited > 100, `${rateLimited} registry answers with RateLimit`);
    for (const [name, item] of Object.entries(doc.webhooks as Record<string, Json>)) {
      assert.deepEqual(item.post.parameters.map((p: Json) => [p.in, p.name]), callbackHeaders(name), name);
    }
    // What the document says is what an answer carries.
    const res = await app.request("/healthz");
    assert.match(res.headers.get("X-Request-ID") ?? "", /^[0-9a-f-]{36}$/);
    await res.body?.cancel();
  });
});

/** Places where an open schema is right: the spec leaves them open, or the server accepts and ignores them. */
const OPEN_SCHEMAS: RegExp[] = [
  /\/additionalProperties$/, // open objects: the spec's messages allow more fields
  /\/properties\/meta$/, // header meta: any object, the spec's `Meta`
  /\/properties\/beneficiaries\/items$/, // receipt_information.beneficiaries: accepted, bounded, not used
  /IbrEnrolledRequest\/.*\/query\/anyOf\/1\/items$/, // an IBR enrolled query as a list: items checked per query
];

Deno.test("OpenAPI document: no registry message, item or answer schema is left empty", async () => {
  await withApp({}, (_app, doc) => {
    const empty: string[] = [];
    const walk = (node: Json, at: string) => {
      if (!node || typeof node !== "object") return;
      if (!Array.isArray(node) && Object.keys(node).length === 0 && !OPEN_SCHEMAS.some((r) => r.test(at))) {
        empty.push(at);
      }
      for (const [k, v] of Object.entries(node)) walk(v, `${at}/${k}`);
    };
    walk(doc.components.schemas, "#/components/schemas");
    assert.deepEqual(empty, []);
    for (const item of ["search_request", "subscribe_request"]) {
      const message = item === "search_request" ? "AsyncSearchRequest" : "SubscribeRequest";
      assert.match(doc.components.schemas[message].properties[item].items.$ref, /RequestItem$/);
    }
    return Promise.resolve();
  });
});

Deno.test("OpenAPI document: a search item's criteria, sort and pagination, the header codes and the signature format are spelled out", async () => {
  await withApp({}, (_app, doc) => {
    const schemas = doc.components.schemas;
    const item = schemas.SearchRequestItem;
    assert.deepEqual(item.required, ["reference_id", "timestamp", "search_criteria"]);
    assert.equal(item.properties.search_criteria.$ref, "#/components/schemas/SearchCriteria");
    const criteria = schemas.SearchCriteria;
    assert.deepEqual(criteria.properties.query_type.enum, ["idtype-value", "predicate", "expression"]);
    assert.deepEqual(criteria.required, ["query_type", "query"]);
    assert.equal(criteria.properties.sort.items.$ref, "#/components/schemas/SearchSort");
    assert.equal(criteria.properties.pagination.$ref, "#/components/schemas/PaginationRequest");
    assert.ok(schemas.PaginationRequest.properties.cursor, "the cursor a client sends back");
    assert.ok(schemas.ExpPredicateWithCondition.properties.expression1);
    assert.deepEqual(schemas.SearchSort.properties.sort_order.enum, ["asc", "desc"]);
    // Every callback's header code is one of the spec's MsgHeaderStatusReasonCode, as the server sends them.
    assert.equal(
      schemas.MsgCallbackHeader.properties.status_reason_code.$ref,
      "#/components/schemas/MsgHeaderStatusReasonCode",
    );
    assert.deepEqual(schemas.MsgHeaderStatusReasonCode.enum, [...HEADER_RJCT_CODES]);
    // The envelope signature is the DCI signature string (a JWS is refused): its signing string and digest.
    const text = doc.components.securitySchemes.dciSignature.description as string;
    assert.doesNotMatch(text, /a JWS over/);
    for (const part of ["(created): C\\n(expires): E\\ndigest: D", "SHA-256", "kidId=", "not a JWS"]) {
      assert.ok(text.includes(part), part);
      assert.ok(schemas.SearchRequestEnvelope.properties.signature.description.includes(part), part);
    }
    return Promise.resolve();
  });
});

Deno.test("OpenAPI document: served as the same bytes each time, gzipped when the client accepts gzip", async () => {
  await withApp({}, async (app, doc) => {
    const plain = await app.request("/dci_api/v1/openapi.json", { headers: { "accept-encoding": "br" } });
    assert.equal(plain.headers.get("content-type"), "application/json");
    assert.equal(plain.headers.get("content-encoding"), null);
    assert.equal(plain.headers.get("vary"), "Accept-Encoding");
    const text = await plain.text();
    assert.deepEqual(JSON.parse(text), doc);
    const zipped = await app.request("/dci_api/v1/openapi.json", {
      headers: { "accept-encoding": "gzip, br" },
    });
    assert.equal(zipped.headers.get("content-encoding"), "gzip");
    const bytes = new Uint8Array(await zipped.arrayBuffer());
    assert.ok(bytes.length < text.length / 4, `gzip ${bytes.length} bytes against ${text.length}`);
    const unzipped = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"));
    assert.equal(await new Response(unzipped).text(), text);
    const refused = await app.request("/dci_api/v1/openapi.json", {
      headers: { "accept-encoding": "gzip;q=0" },
    });
    assert.equal(await refused.text(), text);
  });
});
