/** createApp(deps): middleware order, error rendering, one route() per area and the OpenAPI document. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "./http/context.ts";
import type { Deps } from "./deps.ts";
import { limitBody, observe, requireJson } from "./http/middleware.ts";
import { renderError, validationHook } from "./http/errors.ts";
import { securityHeaders } from "./http/security_headers.ts";
import { DciError } from "./dci/errors.ts";
import { systemRoutes } from "./system/routes.ts";
import { docsRoutes } from "./system/docs.ts";
import { type AdminRouteModule, adminRoutes } from "./admin/router.ts";
import { registryMounts, type RegistryRouteModule, registryRoutes } from "./dci/registry_router.ts";
import { searchRoutes } from "./registry/search_route.ts";
import { registrantAdminRoutes } from "./registry/admin_routes.ts";
import { oauthRoutes } from "./auth/oauth.ts";
import { senderAdminRoutes } from "./senders/admin_routes.ts";
import { transactionRoutes } from "./transactions/routes.ts";
import { transactionAdminRoutes } from "./transactions/admin.ts";
import { receiptRoutes } from "./subscriptions/receipts.ts";
import { subscriptionAdminRoutes } from "./subscriptions/admin.ts";
import { locationsAdminRoutes, locationsRoutes } from "./locations/routes.ts";

/** Path prefixes whose POST bodies must be JSON (the token endpoint also takes forms, so it is not here). */
const JSON_PREFIXES = ["/dci_api/v1/*", "/registry/*", "/admin/v1/*"];

/** The areas that add registry endpoints (search, async transactions, subscriptions, receipts), in order. */
const REGISTRY_MODULES: readonly RegistryRouteModule[] = [searchRoutes, transactionRoutes, receiptRoutes];

/** The areas that add admin endpoints under /admin/v1, in order. */
const ADMIN_MODULES: readonly AdminRouteModule[] = [
  registrantAdminRoutes,
  transactionAdminRoutes,
  senderAdminRoutes,
  subscriptionAdminRoutes,
  locationsAdminRoutes,
];

/** The whole HTTP application. */
export function createApp(deps: Deps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>({ defaultHook: validationHook });
  app.use("*", observe(deps));
  app.use("*", securityHeaders());
  app.use("*", limitBody(deps.config.bodyLimit));
  for (const prefix of JSON_PREFIXES) {
    app.use(prefix, async (c, next) => {
      if (isTokenPath(c.req.path)) return await next();
      return await requireJson()(c, next);
    });
  }
  app.onError((err, c) => renderError(err, c, deps));
  app.notFound((c) =>
    renderError(
      new DciError("err.request.not_found", `No route for ${c.req.method} ${c.req.path}`),
      c,
      deps,
    )
  );

  app.route("/", systemRoutes(deps));
  app.route("/", oauthRoutes(deps));
  app.route("/", locationsRoutes(deps));
  for (const { prefix, registry } of registryMounts()) {
    app.route(prefix, registryRoutes(deps, registry, REGISTRY_MODULES));
  }

  app.route("/admin/v1", adminRoutes(deps, ADMIN_MODULES));

  app.doc31("/dci_api/v1/openapi.json", {
    openapi: "3.1.0",
    info: {
      title: "dci-server",
      version: "1.0.0",
      description: "DCI (SPDCI) registry API: search, subscriptions, transaction status and receipts.",
    },
    servers: [{ url: "/" }],
  });
  app.route("/", docsRoutes());
  return app;
}

function isTokenPath(path: string): boolean {
  return path === "/oauth2/client/token" || path === "/dci_api/v1/oauth2/client/token";
}
