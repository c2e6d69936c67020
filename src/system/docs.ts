/**
 * Swagger UI at /dci_api/v1/docs, with its script and stylesheet embedded in the module graph so the docs page
 * works from the single binary on a machine without internet access. Every URL the page uses is relative to
 * the page, so it also works behind a proxy that serves the server under a path prefix (DCI_PUBLIC_URL).
 */
import { Hono } from "hono";
import type { AppEnv } from "../http/context.ts";

/**
 * The embedded Swagger UI files, loaded on the first request for one: ~1.5 MB of text that cost every HTTP
 * isolate ~50 ms of its start-up when it was part of the static graph.
 */
let assets: Promise<{ bundle: string; css: string }> | undefined;
function swaggerAssets(): Promise<{ bundle: string; css: string }> {
  return assets ??= Promise.all([
    import("swagger-ui-dist/swagger-ui-bundle.js", { with: { type: "text" } }),
    import("swagger-ui-dist/swagger-ui.css", { with: { type: "text" } }),
  ]).then(([bundle, css]) => ({ bundle: bundle.default as string, css: css.default as string }));
}

const PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>dci-server API</title>
  <link rel="stylesheet" href="docs/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="docs/swagger-ui-bundle.js"></script>
  <script src="docs/init.js"></script>
</body>
</html>`;

// validatorUrl: null keeps the page from loading a badge from validator.swagger.io (and the CSP would block it).
const INIT =
  `window.ui = SwaggerUIBundle({ url: "openapi.json", dom_id: "#swagger-ui", validatorUrl: null });`;

/** GET /dci_api/v1/docs and its embedded assets. */
export function docsRoutes(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const asset =
    (body: () => string | Promise<string>, type: string) =>
    async (c: { body: (b: string, s: 200, h: Record<string, string>) => Response }) =>
      c.body(await body(), 200, { "content-type": type, "cache-control": "public, max-age=86400" });
  app.get("/dci_api/v1/docs", (c) => c.html(PAGE));
  app.get(
    "/dci_api/v1/docs/swagger-ui-bundle.js",
    asset(async () => (await swaggerAssets()).bundle, "text/javascript; charset=utf-8"),
  );
  app.get(
    "/dci_api/v1/docs/swagger-ui.css",
    asset(async () => (await swaggerAssets()).css, "text/css; charset=utf-8"),
  );
  app.get("/dci_api/v1/docs/init.js", asset(() => INIT, "text/javascript; charset=utf-8"));
  return app;
}
