/**
 * Item 14: /metrics behind an optional bearer token or on a listener of its own; security headers on the HTML
 * docs page (a CSP Swagger UI still works under, no framing, no referrer) and `nosniff` on every JSON answer.
 */
import assert from "node:assert/strict";
import { withTestDeps } from "../helpers/deps.ts";
import { startServerProcess } from "../helpers/server.ts";
import { createApp } from "../helpers/app.ts";

const TOKEN = "metrics-token-0123456789abcdef";

Deno.test("the docs page carries a same-origin CSP without framing or referrer, and loads only same-origin resources", async () => {
  await withTestDeps({}, async (deps) => {
    const app = createApp(deps);
    const res = await app.request("/dci_api/v1/docs");
    assert.equal(res.status, 200);
    const csp = res.headers.get("content-security-policy") ?? "";
    for (
      const directive of [
        "default-src 'none'",
        "script-src 'self'",
        "connect-src 'self'",
        "frame-ancestors 'none'",
      ]
    ) {
      assert.ok(csp.split("; ").includes(directive), `CSP lacks ${directive}: ${csp}`);
    }
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert.equal(res.headers.get("referrer-policy"), "no-referrer");
    assert.equal(res.headers.get("x-frame-options"), "DENY");
    // Under that policy the page works only if every script and stylesheet is ours and none is inline.
    const html = await res.text();
    // Page-relative references (they also work behind a path-prefix proxy), resolved as a browser does.
    const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) =>
      new URL(m[1], "http://h/dci_api/v1/docs").pathname
    );
    assert.ok(refs.length >= 3);
    for (const ref of refs) assert.match(ref, /^\/dci_api\/v1\/docs\//);
    assert.doesNotMatch(html, /<script>|<style|style="/);
    for (const ref of refs) {
      const asset = await app.request(ref);
      assert.equal(asset.status, 200, ref);
      assert.equal(asset.headers.get("x-content-type-options"), "nosniff");
      await asset.body?.cancel();
    }
  });
});

Deno.test("JSON answers (success, error, token endpoint) carry nosniff and no page policy", async () => {
  await withTestDeps({}, async (deps) => {
    const app = createApp(deps);
    for (
      const res of [
        await app.request("/healthz"),
        await app.request("/no/such/route"),
        await app.request("/oauth2/client/token", { method: "POST", body: "" }),
        await app.request("/dci_api/v1/openapi.json"),
      ]
    ) {
      assert.match(res.headers.get("content-type") ?? "", /json/);
      assert.equal(res.headers.get("x-content-type-options"), "nosniff");
      assert.equal(res.headers.get("content-security-policy"), null);
      await res.body?.cancel();
    }
  });
});

Deno.test("GET /metrics with DCI_METRICS_TOKEN answers 401 without the token or with another, 200 with it", async () => {
  await withTestDeps({ metricsToken: TOKEN }, async (deps) => {
    const app = createApp(deps);
    const get = (authorization?: string) =>
      app.request("/metrics", { headers: authorization ? { authorization } : {} });
    const none = await get();
    assert.equal(none.status, 401);
    assert.match(none.headers.get("www-authenticate") ?? "", /^Bearer/);
    await none.body?.cancel();
    for (const wrong of [`Bearer ${TOKEN}x`, `Bearer ${TOKEN.slice(1)}`, `Basic ${TOKEN}`, "Bearer "]) {
      const res = await get(wrong);
      assert.equal(res.status, 401, wrong);
      await res.body?.cancel();
    }
    const ok = await get(`Bearer ${TOKEN}`);
    assert.equal(ok.status, 200);
    assert.match(await ok.text(), /process_resident_memory_bytes/);
  });
});

Deno.test("DCI_METRICS_LISTEN serves /metrics (behind its token) on its own address and not on the main port", async () => {
  const srv = await startServerProcess({
    env: { DCI_HTTP_ISOLATES: "2", DCI_METRICS_LISTEN: "127.0.0.1:0", DCI_METRICS_TOKEN: TOKEN },
  });
  try {
    const line = await srv.waitForLog((l) => l.msg === "metrics listening");
    const metricsUrl = `http://127.0.0.1:${line.port}/metrics`;
    for (let i = 0; i < 4; i++) {
      await (await fetch(`${srv.url}/healthz`, { headers: { connection: "close" } })).text();
    }
    const main = await fetch(`${srv.url}/metrics`, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(main.status, 404);
    await main.body?.cancel();
    const refused = await fetch(metricsUrl);
    assert.equal(refused.status, 401);
    await refused.body?.cancel();
    const res = await fetch(metricsUrl, { headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    // Plain HTTP (TLS, if any, ends at a proxy in front): no HSTS of ours.
    assert.equal(res.headers.get("strict-transport-security"), null);
    // Every isolate's figures: the healthz requests were spread over both HTTP isolates.
    assert.match(
      await res.text(),
      /dci_http_requests_total\{method="GET",route="\/healthz",status="200"\} 4\n/,
    );
    const other = await fetch(metricsUrl.replace("/metrics", "/healthz"));
    assert.equal(other.status, 404);
    await other.body?.cancel();
  } finally {
    await srv.stop();
  }
});
