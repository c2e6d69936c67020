/** createApp(deps): middleware order, error rendering, one route() per area and the OpenAPI document. */
import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { RegistryProfile } from "./registries/profile.ts";
import type { AppEnv } from "./http/context.ts";
import type { Deps } from "./deps.ts";
import { limitBody, observe, refuseNul, requireJson } from "./http/middleware.ts";
import { classifyError, renderError, validationHook } from "./http/errors.ts";
import { securityHeaders } from "./http/security_headers.ts";
import { DciError } from "./dci/errors.ts";
import { systemRoutes } from "./system/routes.ts";
import { docsRoutes } from "./system/docs.ts";
import { serveOpenApi } from "./system/openapi_doc.ts";
import { type AdminRouteModule, adminRoutes } from "./admin/router.ts";
import { registrantAdminRoutes } from "./registry/admin_routes.ts";
import { oauthRoutes } from "./auth/oauth.ts";
import { isTokenPath } from "./auth/token_paths.ts";
import { senderAdminRoutes } from "./senders/admin_routes.ts";
import { transactionAdminRoutes } from "./transactions/admin.ts";
import { subscriptionAdminRoutes } from "./subscriptions/admin.ts";
import { registryRouter } from "./actions/routes.ts";
import { type ServedRegistries, servedRegistries } from "./actions/registries.ts";
import { registerTxnGauge } from "./transactions/gauge.ts";
import { locationsAdminRoutes, locationsRoutes } from "./locations/routes.ts";
import { SplitRouter } from "./http/split_router.ts";
import { publicBaseUrl } from "./config.ts";
import { auditAdminRoutes } from "./audit/routes.ts";
import { dashboardAdminRoutes } from "./obs/dashboard_routes.ts";
import { consoleRoutes } from "./console/routes.tsx";
import { baseOf } from "./console/context.ts";
import { importAdminRoutes } from "./registry/imports/admin_routes.ts";
import { isBulkUpload } from "./actions/bulk_route.ts";

/** Bound on the bodies of the token endpoint and the console's login and logout forms (a few short fields). */
const SMALL_FORM_BYTES = 8 * 1024;

/** Bound on the console's other form bodies (not the import upload, which is streamed to disk). */
const CONSOLE_FORM_BYTES = 64 * 1024;

/** The console forms under SMALL_FORM_BYTES. */
const SMALL_CONSOLE_FORMS = new Set(["/console/login", "/console/logout"]);

/** Path prefixes whose POST bodies must be JSON (the token endpoint also takes forms, so it is not here). */
const JSON_PREFIXES = ["/dci_api/v1/*", "/registry/*", "/admin/v1/*"];

/** The areas that add admin endpoints under /admin/v1, in order. */
const ADMIN_MODULES: readonly AdminRouteModule[] = [
  registrantAdminRoutes,
  transactionAdminRoutes,
  senderAdminRoutes,
  subscriptionAdminRoutes,
  locationsAdminRoutes,
  auditAdminRoutes,
  dashboardAdminRoutes,
  importAdminRoutes,
];

/** The whole HTTP application. */
export function createApp(deps: Deps): OpenAPIHono<AppEnv> {
  // The admin API in its own router: a pattern of it the fast router cannot take slows only the admin API.
  const app = new OpenAPIHono<AppEnv>({
    defaultHook: validationHook,
    router: new SplitRouter(["admin", "console"]),
  });
  app.use("*", observe(deps));
  app.use("*", securityHeaders());
  const bodyLimit = limitBody(deps.config.bodyLimit);
  // An import upload (admin API or console) is streamed to disk, so it has its own, larger bound; a bulk search
  // upload is streamed under its own cap (DCI_BULK_MAX_FILE_BYTES). Neither is read as JSON.
  const importLimit = limitBody(deps.config.importUploadMaxBytes);
  // Anyone may post to the token endpoint and the console login without credentials: a small bound there makes
  // a large form cost its sender a 413, not the isolate a second of parsing. The console's other forms are small
  // too (the largest is a pasted public key, at most MAX_JWK_JSON characters before URL encoding).
  const smallFormLimit = limitBody(Math.min(deps.config.bodyLimit, SMALL_FORM_BYTES));
  const consoleLimit = limitBody(Math.min(deps.config.bodyLimit, CONSOLE_FORM_BYTES));
  app.use("*", (c, next) => {
    const { method, path } = c.req;
    if (isBulkUpload(c)) return next();
    if (isImportUpload(method, path) && !path.startsWith("/console/")) return importLimit(c, next);
    if (isTokenPath(path)) return smallFormLimit(c, next);
    if (path.startsWith("/console/")) {
      const limit = isImportUpload(method, path)
        ? importLimit
        : SMALL_CONSOLE_FORMS.has(path)
        ? smallFormLimit
        : consoleLimit;
      return consoleTooLarge(c, () => limit(c, next));
    }
    return bodyLimit(c, next);
  });
  for (const prefix of JSON_PREFIXES) {
    app.use(prefix, async (c, next) => {
      if (isTokenPath(c.req.path) || isImportUpload(c.req.method, c.req.path) || isBulkUpload(c)) {
        return await next();
      }
      return await requireJson()(c, next);
    });
  }
  // An import upload streams to disk (its rows refuse a NUL as they are read): not read whole here.
  const nul = refuseNul();
  app.use("/admin/v1/*", (c, next) => isImportUpload(c.req.method, c.req.path) ? next() : nul(c, next));
  const render = deps.extensions?.renderError;
  const onError = (err: unknown, c: Context<AppEnv>) => {
    // Logged (and a full disk noted) once, whoever answers: the stock renderer or the deployment's hook.
    const known = classifyError(err, c, deps);
    const fallback = () => renderError(known, c, deps);
    if (!render) return fallback();
    try {
      return render(err, c, fallback) ?? fallback();
    } catch (hookError) {
      // A deployment's renderer that throws answers as if it were absent (each enclosing middleware would call it
      // again with its own error, and the request end as an empty 500 logged as 200).
      (c.get("log") ?? deps.log).error("renderError hook failed", { err: hookError });
      return fallback();
    }
  };
  app.onError(onError);
  app.notFound((c) =>
    onError(new DciError("err.request.not_found", `No route for ${c.req.method} ${c.req.path}`), c)
  );

  const registries = servedRegistries(deps.config, deps.extensions?.registries);
  registerTxnGauge(deps);
  app.route("/", systemRoutes(deps));
  app.route("/", oauthRoutes(deps));
  app.route("/", locationsRoutes(deps));
  mountRegistries(app, deps, registries);
  app.route("/admin/v1", adminRoutes(deps, ADMIN_MODULES));
  app.get("/console", (c) => c.redirect("console/", 301));
  app.route("/console/", consoleRoutes(deps));
  deps.extensions?.routes?.(app, deps);

  serveOpenApi(app, deps, {
    title: "dci-server",
    version: "1.0.0",
    description: "DCI (SPDCI) registry API: search, subscriptions, transaction status and receipts, for " +
      `the registries ${registries.served.map((p) => p.name).join(", ")} (prefix-less paths: ` +
      `${registries.default.name}).`,
    // Relative to the document (OpenAPI 3.1 §4.8.5), so "Try it out" works behind a path-prefix proxy too.
    servers: [{ url: deps.config.publicUrl ? publicBaseUrl(deps.config) : "../.." }],
    tags: registries.served.map((p) => ({ name: `${p.name} registry`, description: registryDoc(p) })),
  });
  app.route("/", docsRoutes());
  return app;
}

/**
 * Each served registry at `/dci_api/v1/{name}/registry`, the default one also at `/dci_api/v1/registry` and
 * `/registry`; a registry this binary has but does not serve answers 404 with the ERR ACK on all its paths.
 */
function mountRegistries(app: OpenAPIHono<AppEnv>, deps: Deps, registries: ServedRegistries): void {
  for (const profile of registries.served) {
    const router = registryRouter(deps, profile);
    app.route(`/dci_api/v1/${profile.name}/registry`, router);
    if (profile === registries.default) {
      app.route("/dci_api/v1/registry", router);
      app.route("/registry", router);
    }
  }
  for (const profile of registries.unserved) {
    const refuse = () => {
      throw new DciError(
        "err.request.not_found",
        `The ${profile.name} registry is not served here (DCI_REGISTRIES: ${
          deps.config.registries.join(",")
        })`,
      );
    };
    app.all(`/dci_api/v1/${profile.name}/registry`, refuse);
    app.all(`/dci_api/v1/${profile.name}/registry/*`, refuse);
  }
}

/** A registry's tag description in the OpenAPI document. */
function registryDoc(p: RegistryProfile): string {
  const missing = ["txn-status", "receipt", "search", "subscribe", "unsubscribe"].filter((a) =>
    !(p.standardActions as readonly string[]).includes(a)
  );
  return `${p.title} (reg_type ${p.regType}).` +
    (missing.length === 0
      ? ""
      : ` Its spec defines no ${
        missing.join(", ")
      }: those paths answer 404 with the ERR ACK (err.request.not_found).`);
}

/** A registry import upload: the admin API's `POST …/registries/{registry}/imports` or the console's form. */
/**
 * A console form or upload over its bound (refused before the console's router, whose error page it never
 * reaches): answered as a page a browser shows, not the API's JSON.
 */
async function consoleTooLarge(c: Context<AppEnv>, run: () => Promise<unknown>): Promise<Response | void> {
  try {
    await run();
  } catch (err) {
    if (!(err instanceof DciError && err.status === 413)) throw err;
    const text = err.message.replace(/[&<>"]/g, (ch) => `&#${ch.charCodeAt(0)};`);
    return c.html(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Too large</title></head><body>` +
        `<main><h1>Too large</h1><p role="alert">${text}</p><p><a href="${
          baseOf(c.req.path)
        }">Back to the console</a></p>` +
        `</main></body></html>`,
      413,
      { "cache-control": "no-store" },
    );
  }
}

function isImportUpload(method: string, path: string): boolean {
  return method === "POST" && IMPORT_UPLOAD.test(path);
}

const IMPORT_UPLOAD = /^\/(admin\/v1\/registries|console\/registry)\/[a-z][a-z0-9_-]{0,39}\/imports\/?$/;
