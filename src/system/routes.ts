/** Health, readiness, metrics and the JWKS: the routes every deployment probes. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { validationHook } from "../http/errors.ts";
import { stmt } from "../db/statements.ts";
import { storageFull } from "../db/faults.ts";

const Jwk = z.object({
  kty: z.string(),
  kid: z.string(),
  use: z.literal("sig"),
  alg: z.string(),
  crv: z.string().optional(),
  x: z.string().optional(),
  n: z.string().optional(),
  e: z.string().optional(),
}).openapi("Jwk");
const Jwks = z.object({ keys: z.array(Jwk) }).openapi("Jwks");

const jwksRoute = (path: string) =>
  createRoute({
    method: "get",
    path,
    tags: ["Keys"],
    summary: "The server's published signature keys",
    responses: { 200: { description: "JWKS", content: { "application/json": { schema: Jwks } } } },
  });

/** GET /healthz, /readyz, /metrics and both JWKS paths. */
export function systemRoutes(deps: Deps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  for (const path of ["/.well-known/jwks.json", "/dci_api/v1/.well-known/jwks.json"]) {
    app.openapi(jwksRoute(path), (c) => {
      c.header("Cache-Control", "public, max-age=300");
      return c.json(deps.keys.jwks(), 200);
    });
  }
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  deps.metrics.gauge(
    "process_resident_memory_bytes",
    "Resident memory of the whole server process (every isolate)",
    () => [{ labels: {}, value: Deno.memoryUsage().rss }],
  );
  app.get("/readyz", async (c) => {
    const checks: Record<string, string> = {};
    try {
      stmt(deps.db, "SELECT 1").get();
      checks.database = "ok";
    } catch {
      checks.database = "failed";
    }
    try {
      await deps.kv.get(["readyz"]);
      checks.kv = "ok";
    } catch {
      checks.kv = "failed";
    }
    // A full disk leaves reads working but fails every write (each signed request writes its rate count):
    // "degraded", 503, until a write succeeds again.
    const full = storageFull(deps.db);
    checks.storage = full ? "full" : "ok";
    const status = checks.database !== "ok" || checks.kv !== "ok" ? "unavailable" : full ? "degraded" : "ok";
    const body = full
      ? { status, checks, storage: { full_since: full.since, error: full.error } }
      : { status, checks };
    return c.json(body, status === "ok" ? 200 : 503);
  });
  app.get("/metrics", async (c) => {
    c.header("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
    return c.body(await deps.metrics.renderAll()); // the whole process: every isolate's counters summed
  });
  return app;
}
