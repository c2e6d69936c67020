/** The admin API under /admin/v1: admin tokens in front, one module per resource area. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { validationHook } from "../http/errors.ts";
import { requireAdmin } from "./auth.ts";
import { ADMIN_ERRORS, ADMIN_SECURITY } from "../system/openapi_security.ts";
import { auditWrites } from "../audit/middleware.ts";

/** Adds one area's admin endpoints (paths relative to /admin/v1). */
export type AdminRouteModule = (app: OpenAPIHono<AppEnv>, deps: Deps) => void;

/**
 * The admin router: every route needs an admin token; viewers may only read (GET/HEAD); every write that
 * succeeds is recorded in the audit log with the token's id. Every route a module declares with `app.openapi`
 * states in the OpenAPI document the admin token requirement and the ERR ACK failures, beside its own responses.
 */
export function adminRoutes(deps: Deps, modules: readonly AdminRouteModule[]): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use("*", requireAdmin(deps));
  const declare = app.openapi.bind(app);
  app.openapi =
    ((route: Parameters<typeof declare>[0], ...rest: unknown[]) =>
      (declare as (...args: unknown[]) => unknown)({
        ...route,
        security: route.security ?? ADMIN_SECURITY,
        responses: { ...ADMIN_ERRORS, ...route.responses },
      }, ...rest)) as typeof app.openapi;
  app.use(
    "*",
    auditWrites(deps, {
      source: "api",
      prefix: "/admin/v1",
      actor: (c) => {
        const admin = c.get("admin");
        return admin && { kind: admin.source === "env" ? "env" : "token", id: admin.id };
      },
    }),
  );
  for (const add of modules) add(app, deps);
  return app;
}
