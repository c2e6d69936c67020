import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { requestEnvelope } from "../helpers/dci.ts";

const ORIGIN = "http://dci.test";

/**
 * What Swagger UI does, step by step, over HTTP: load the docs page, its start script and the document it names;
 * Authorize with the client-credentials flow (a form POST to the scheme's token URL, credentials by HTTP Basic,
 * as its dialog sends them) or with a pasted token; then "Try it out" sends `Authorization: Bearer <token>`.
 */
Deno.test("Swagger UI: the docs page's document lets Authorize get a token at its token URL, which Try it out sends to a registry route", async () => {
  const deps = await testDeps({}, { now: Date.now() });
  try {
    const app = createApp(deps);
    const get = (url: URL, headers: Record<string, string> = {}) => app.request(url.href, { headers });
    const page = new URL("/dci_api/v1/docs", ORIGIN);
    const html = await (await get(page)).text();
    const scripts = [...html.matchAll(/<script src="([^"]+)"/g)].map((m) => new URL(m[1], page));
    const init = scripts.find((u) => u.pathname.endsWith("/init.js"));
    assert.ok(init, "the docs page loads its start script");
    // Its embedded Swagger UI script and stylesheet (loaded on the first request for one).
    const styles = [...html.matchAll(/<link rel="stylesheet" href="([^"]+)"/g)].map((m) =>
      new URL(m[1], page)
    );
    for (
      const [url, type, mark] of [
        [
          scripts.find((u) => u.pathname.endsWith("/swagger-ui-bundle.js")),
          "text/javascript",
          "SwaggerUIBundle",
        ],
        [styles[0], "text/css", ".swagger-ui"],
      ] as const
    ) {
      assert.ok(url, `the docs page names its ${type}`);
      const res = await get(url);
      assert.equal(res.status, 200, url.pathname);
      assert.match(res.headers.get("content-type") ?? "", new RegExp(`^${type}`));
      const text = await res.text();
      assert.ok(text.length > 100_000 && text.includes(mark), `${url.pathname}: ${text.length} chars`);
    }
    const config = await (await get(init)).text();
    const docUrl = new URL(/url: "([^"]+)"/.exec(config)![1], page);
    const doc = await (await get(docUrl)).json();

    // The operator's partner: a client with the search scope; its sender does not sign (Swagger UI cannot).
    const { token: adminToken } = await deps.storage.adminTokens.create({ role: "admin" });
    const admin = { authorization: `Bearer ${adminToken}`, "content-type": "application/json" };
    const post = (path: string, body: unknown) =>
      app.request(path, { method: "POST", headers: admin, body: JSON.stringify(body) });
    assert.equal(
      (await post("/admin/v1/senders", { sender_id: "p1", signature_policy: "optional" })).status,
      201,
    );
    const client = await (await post("/admin/v1/clients", { sender_id: "p1", scopes: ["registry.search"] }))
      .json();

    // Authorize: the oauth2 scheme's client-credentials flow, as Swagger UI's dialog requests it.
    const flow = doc.components.securitySchemes.oauth2.flows.clientCredentials;
    assert.ok("registry.search" in flow.scopes);
    const server = new URL(doc.servers[0].url, docUrl);
    const tokenRes = await app.request(new URL(flow.tokenUrl, server).href, {
      method: "POST",
      headers: {
        Accept: "application/json, text/plain, */*",
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Requested-With": "XMLHttpRequest",
        Authorization: `Basic ${btoa(`${client.client_id}:${client.client_secret}`)}`,
      },
      body: "grant_type=client_credentials&scope=registry.search",
    });
    const token = await tokenRes.json();
    assert.equal(tokenRes.status, 200, JSON.stringify(token));
    assert.equal(token.token_type, "Bearer");

    // Try it out on an operation whose security names the oauth2 scheme with that scope.
    const path = "/dci_api/v1/social/registry/sync/search";
    assert.deepEqual(doc.paths[path].post.security[0].oauth2, ["registry.search"]);
    const search = (authorization?: string) =>
      app.request(new URL(path.slice(1), server).href, {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify(requestEnvelope("p1", {
          transaction_id: "t-1",
          search_request: [{
            reference_id: "r-1",
            timestamp: new Date().toISOString(),
            search_criteria: {
              query_type: "idtype-value",
              query: { type: "NID", value: "none" },
            },
          }],
        }, { totalCount: 1 })),
      });
    const unauthorized = await search();
    assert.equal(unauthorized.status, 401);
    await unauthorized.body?.cancel();
    const answered = await search(`Bearer ${token.access_token}`);
    const body = await answered.json();
    assert.equal(answered.status, 200, JSON.stringify(body));
    assert.equal(body.header.action, "on-search");
  } finally {
    deps.close();
  }
});
