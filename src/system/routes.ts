/** Health, readiness, metrics and the JWKS: the routes every deployment probes. */
import { createRoute, OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { validationHook } from "../http/errors.ts";
import { VERSION } from "../version.ts";
import { storageFull } from "../db/faults.ts";
import { DciError } from "../dci/errors.ts";
import { METRICS_CONTENT_TYPE, metricsAuthorized, registerProcessGauges } from "../obs/metrics_access.ts";
import { optionalSecurity, PUBLIC_SECURITY } from "./openapi_security.ts";
import { Ack } from "../dci/schemas.ts";

const Health = z.object({ status: z.literal("ok"), version: z.string() }).openapi("Health");
const Readiness = z.object({
  status: z.enum(["ok", "degraded", "unavailable"]),
  checks: z.object({
    database: z.enum(["ok", "failed"]),
    kv: z.enum(["ok", "failed", "none"]).openapi({ description: "none: on PostgreSQL, which has no KV" }),
    storage: z.enum(["ok", "full"]),
  }),
  storage: z.object({ full_since: z.string(), error: z.string() }).optional(),
}).openapi("Readiness");
const readinessAnswer = (description: string) => ({
  description,
  content: { "application/json": { schema: Readiness } },
});
const system = { tags: ["System"], security: PUBLIC_SECURITY };
const healthRoute = createRoute({
  ...system,
  method: "get",
  path: "/healthz",
  summary: "Liveness: the process answers (and its version)",
  responses: { 200: { description: "Alive", content: { "application/json": { schema: Health } } } },
});
const readyRoute = createRoute({
  ...system,
  method: "get",
  path: "/readyz",
  summary: "Readiness: the database and KV answer and the disk takes writes",
  responses: {
    200: readinessAnswer("Ready"),
    503: readinessAnswer("Not ready: unavailable (database or KV) or degraded (storage full)"),
  },
});
const metricsRoute = createRoute({
  ...system,
  method: "get",
  path: "/metrics",
  summary: "Prometheus metrics of the whole process (absent here when DCI_METRICS_LISTEN is set)",
  security: optionalSecurity("metricsToken"),
  responses: {
    200: {
      description: "Prometheus text format 0.0.4",
      content: { [METRICS_CONTENT_TYPE]: { schema: z.string() } },
    },
    401: {
      description: "ERR ACK: DCI_METRICS_TOKEN is set and the bearer token is not it",
      content: { "application/json": { schema: Ack } },
    },
  },
});

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
    security: PUBLIC_SECURITY,
    responses: { 200: { description: "JWKS", content: { "application/json": { schema: Jwks } } } },
  });

/** GET /healthz, /readyz, /metrics (unless it has its own listener, behind the metrics token if set) and the JWKS. */
export function systemRoutes(deps: Deps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  for (const path of ["/.well-known/jwks.json", "/dci_api/v1/.well-known/jwks.json"]) {
    app.openapi(jwksRoute(path), async (c) => {
      c.header("Cache-Control", "public, max-age=300");
      return c.json(await deps.keys.jwks(), 200);
    });
  }
  app.openapi(healthRoute, (c) => c.json({ status: "ok" as const, version: VERSION }, 200));
  registerProcessGauges(deps);
  app.openapi(readyRoute, async (c) => {
    const body = await readiness(deps);
    return c.json(body, body.status === "ok" ? 200 : 503);
  });
  if (deps.config.metricsListen) return app; // /metrics has a listener of its own (src/obs/metrics_access.ts)
  app.openapi(metricsRoute, async (c) => {
    if (!metricsAuthorized(deps, c.req.header("authorization"))) {
      throw new DciError("err.request.unauthorized", "A metrics bearer token is required");
    }
    c.header("Content-Type", METRICS_CONTENT_TYPE);
    // The whole process: every isolate's counters summed (the media type is set above, hence the cast).
    return c.body(await deps.metrics.renderAll(), 200) as never;
  });
  return app;
}

/** What /readyz answers (and the console's dashboard shows): database, KV and storage checks and the verdict. */
export async function readiness(deps: Deps): Promise<z.infer<typeof Readiness>> {
  const checks = { database: "ok", kv: "ok", storage: "ok" } as z.infer<typeof Readiness>["checks"];
  try {
    await deps.storage.ping();
    checks.database = "ok";
  } catch {
    checks.database = "failed";
  }
  // KV is the SQLite deployment's queue; on PostgreSQL there is none and the database check covers the queue.
  try {
    if (deps.kv) await deps.kv.get(["readyz"]);
    checks.kv = deps.kv ? "ok" : "none";
  } catch {
    checks.kv = "failed";
  }
  // A full disk leaves reads working but fails every write (each signed request writes its rate count):
  // "degraded", 503, until a write succeeds again or FULL_REPORTED_MS pass without another failing so.
  const full = deps.db ? storageFull(deps.db) : undefined;
  checks.storage = full ? "full" : "ok";
  const status: z.infer<typeof Readiness>["status"] = checks.database !== "ok" || checks.kv === "failed"
    ? "unavailable"
    : full
    ? "degraded"
    : "ok";
  return full
    ? { status, checks, storage: { full_since: full.since, error: full.error } }
    : { status, checks };
}
