/** Health, readiness, metrics and the JWKS: the routes every deployment probes. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { validationHook } from "../http/errors.ts";
import { stmt } from "../db/statements.ts";
import { VERSION } from "../version.ts";
import { storageFull } from "../db/faults.ts";
import { DciError } from "../dci/errors.ts";
import { METRICS_CONTENT_TYPE, metricsAuthorized, registerProcessGauges } from "../obs/metrics_access.ts";

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

/** GET /healthz, /readyz, /metrics (unless it has its own listener, behind the metrics token if set) and the JWKS. */
export function systemRoutes(deps: Deps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  for (const path of ["/.well-known/jwks.json", "/dci_api/v1/.well-known/jwks.json"]) {
    app.openapi(jwksRoute(path), (c) => {
      c.header("Cache-Control", "public, max-age=300");
      return c.json(deps.keys.jwks(), 200);
    });
  }
  app.get("/healthz", (c) => c.json({ status: "ok", version: VERSION }));
  registerProcessGauges(deps);
  app.get("/readyz", async (c) => {
    const body = await readiness(deps);
    return c.json(body, body.status === "ok" ? 200 : 503);
  });
  if (deps.config.metricsListen) return app; // /metrics has a listener of its own (src/obs/metrics_access.ts)
  app.get("/metrics", async (c) => {
    if (!metricsAuthorized(deps, c.req.header("authorization"))) {
      throw new DciError("err.request.unauthorized", "A metrics bearer token is required");
    }
    c.header("Content-Type", METRICS_CONTENT_TYPE);
    return c.body(await deps.metrics.renderAll()); // the whole process: every isolate's counters summed
  });
  return app;
}

/** What /readyz answers (and the console's dashboard shows): database, KV and storage checks and the verdict. */
export async function readiness(deps: Deps): Promise<{
  status: "ok" | "degraded" | "unavailable";
  checks: Record<string, string>;
  storage?: { full_since: string; error: string };
}> {
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
  return full
    ? { status, checks, storage: { full_since: full.since, error: full.error } }
    : { status, checks };
}
