import { equal, match, ok } from "node:assert/strict";
import { createRoute, z } from "@hono/zod-openapi";
import { createApp } from "../helpers/app.ts";
import { RequestEnvelope } from "../../src/dci/schemas.ts";
import { DciRejection } from "../../src/dci/errors.ts";
import { verifyEnvelope } from "../../src/auth/envelope_signature.ts";
import { testDeps } from "../helpers/deps.ts";
import type { TestDeps } from "../helpers/deps.ts";
import { describeAction } from "../../src/actions/openapi.ts";
import { actionNamed } from "../../src/dci/actions.ts";
import { rejectedMessage } from "../../src/dci/rejection.ts";

/** The app plus a test-only envelope route, to exercise the shared validation and error path. */
function appWithEcho(deps: TestDeps) {
  const app = createApp(deps);
  app.openapi(
    createRoute({
      method: "post",
      path: "/dci_api/v1/test/echo",
      request: { body: { content: { "application/json": { schema: RequestEnvelope } }, required: true } },
      responses: { 200: { description: "echo", content: { "application/json": { schema: z.object({}) } } } },
    }),
    (c) => c.json({ sender: c.req.valid("json").header.sender_id }, 200),
  );
  // The route tells the error renderer its action (as every registry route does), here the sync search.
  const syncSearch = actionNamed("sync-search");
  app.post(
    "/dci_api/v1/test/reject/sync/search",
    describeAction({
      name: syncSearch.name,
      sync: true,
      callbackAction: syncSearch.callbackAction,
      rejected: (request, ids) => rejectedMessage("search", request, ids),
    }),
    () => {
      throw new DciRejection("rjct.message_id.duplicate", "message_id m1 was already received");
    },
  );
  return app;
}

const json = (body: unknown) => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: typeof body === "string" ? body : JSON.stringify(body),
});

const validEnvelope = {
  header: {
    message_id: "m1",
    message_ts: "2026-01-01T00:00:00Z",
    action: "search",
    sender_id: "s1",
    total_count: 0,
  },
  message: {},
};

async function errOf(res: Response) {
  const body = await res.json();
  equal(body.message.ack_status, "ERR");
  ok(body.message.timestamp);
  ok(body.message.correlation_id);
  return body.message.error as { code: string; message: string };
}

Deno.test("createApp() answers bad input with the ERR ACK and the right status", async () => {
  const deps = await testDeps({ bodyLimit: "2048" });
  try {
    const app = appWithEcho(deps);
    let res = await app.request("/nope");
    equal(res.status, 404);
    equal((await errOf(res)).code, "err.request.not_found");

    res = await app.request("/dci_api/v1/test/echo", {
      method: "POST",
      body: "{}",
      headers: { "content-type": "text/plain", "content-length": "2" },
    });
    equal(res.status, 415);
    equal((await errOf(res)).code, "err.request.bad");

    res = await app.request("/dci_api/v1/test/echo", json('{"header": '));
    equal(res.status, 400);
    const malformed = await errOf(res);
    equal(malformed.code, "err.request.bad");
    match(malformed.message, /Malformed JSON/);

    res = await app.request(
      "/dci_api/v1/test/echo",
      json({ ...validEnvelope, header: { ...validEnvelope.header, total_count: "x" } }),
    );
    equal(res.status, 400);
    match((await errOf(res)).message, /header\.total_count/);

    res = await app.request(
      "/dci_api/v1/test/echo",
      json({ header: { ...validEnvelope.header, message_ts: "yesterday" }, message: {} }),
    );
    equal(res.status, 400);
    match((await errOf(res)).message, /header\.message_ts/);

    res = await app.request("/dci_api/v1/test/echo", json({ ...validEnvelope, pad: "x".repeat(4096) }));
    equal(res.status, 413);
    equal((await errOf(res)).code, "err.request.bad");

    res = await app.request("/dci_api/v1/test/echo", json(validEnvelope));
    equal(res.status, 200);
    equal((await res.json()).sender, "s1");
  } finally {
    deps.close();
  }
});

Deno.test("createApp() gives each response a request id and keeps a well-formed incoming one", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const a = await app.request("/healthz");
    match(a.headers.get("x-request-id")!, /^[0-9a-f-]{36}$/);
    const b = await app.request("/healthz", { headers: { "x-request-id": "abc-123" } });
    equal(b.headers.get("x-request-id"), "abc-123");
    const c = await app.request("/healthz", { headers: { "x-request-id": "bad id\u0001" } });
    ok(c.headers.get("x-request-id") !== "bad id\u0001");
    const err = await app.request("/nope", { headers: { "x-request-id": "req-9" } });
    equal((await err.json()).message.correlation_id, "req-9");
  } finally {
    deps.close();
  }
});

Deno.test("createApp() renders a header-level rejection as a signed rjct envelope", async () => {
  const deps = await testDeps();
  try {
    const res = await appWithEcho(deps).request("/dci_api/v1/test/reject/sync/search", json(validEnvelope));
    equal(res.status, 409);
    const body = await res.json();
    equal(body.header.status, "rjct");
    equal(body.header.action, "on-search");
    equal(body.header.status_reason_code, "rjct.message_id.duplicate");
    const v = verifyEnvelope(body, {
      nowMs: deps.clock.now(),
      resolveKey: () => deps.keys.active().publicKey,
    });
    ok(v.ok);
  } finally {
    deps.close();
  }
});

Deno.test("createApp() serves /metrics with request counts and latency, /readyz and the OpenAPI document", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    await app.request("/healthz");
    await app.request("/nope");
    const metrics = await (await app.request("/metrics")).text();
    match(metrics, /dci_http_requests_total\{method="GET",route="\/healthz",status="200"\} 1/);
    match(metrics, /dci_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/);
    match(metrics, /dci_http_request_duration_seconds_bucket\{route="\/healthz",le="\+Inf"\} 1/);
    const rss = Number(/^process_resident_memory_bytes (\d+)$/m.exec(metrics)?.[1]);
    ok(rss > 10_000_000 && rss < 20_000_000_000, `resident memory ${rss} B`);
    const ready = await app.request("/readyz");
    equal(ready.status, 200);
    const checks = (await ready.json()).checks;
    equal(checks.database, "ok");
    // KV is the SQLite deployment's queue; PostgreSQL has none (its database check covers the queue).
    equal(checks.kv, deps.backend === "sqlite" ? "ok" : "none");
    const doc = await (await app.request("/dci_api/v1/openapi.json")).json();
    equal(doc.openapi, "3.1.0");
    ok(doc.paths["/.well-known/jwks.json"]);
    ok(doc.components.schemas.Jwks);
  } finally {
    deps.close();
  }
});

Deno.test("requireAdmin() lets admins write, viewers only read, and stops a revoked token at once", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    const admin = await deps.storage.adminTokens.create({ role: "admin" });
    const viewer = await deps.storage.adminTokens.create({ role: "viewer" });
    const req = (token: string | undefined, method = "GET") =>
      app.request("/admin/v1/nothing-here", {
        method,
        headers: {
          ...(token ? { authorization: `Bearer ${token}` } : {}),
          "content-type": "application/json",
        },
        body: method === "GET" ? undefined : "{}",
      });
    let res = await req(undefined);
    equal(res.status, 401);
    ok(res.headers.get("www-authenticate"));
    equal((await errOf(res)).code, "err.request.unauthorized");
    equal((await req("dcia_wrong")).status, 401);
    equal(admin.info.last_used_at, null);
    equal((await req(admin.token)).status, 404); // authenticated, then no such route
    equal((await req(viewer.token)).status, 404);
    // Verified: its last use recorded (at verification, not per request: the next minute's reuse the check).
    equal(
      (await deps.storage.adminTokens.get(admin.info.id))?.last_used_at,
      new Date(deps.clock.now()).toISOString(),
    );
    res = await req(viewer.token, "POST");
    equal(res.status, 403);
    equal((await errOf(res)).code, "err.request.forbidden");
    equal((await req(admin.token, "POST")).status, 404);
    ok(await deps.storage.adminTokens.revoke(admin.info.id));
    equal((await req(admin.token)).status, 401);
    const stored = JSON.stringify(await deps.sql("SELECT * FROM admin_tokens"));
    ok(!stored.includes(admin.token) && !stored.includes(viewer.token), "tokens are stored only hashed");
  } finally {
    deps.close();
  }
});
