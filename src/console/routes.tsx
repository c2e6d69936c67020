/**
 * The operator console at /console: server-rendered pages (Hono JSX, htmx), logged in with an admin or viewer
 * token. Order of the gates: assets (public, immutable), login/logout, then a session is required, and every
 * POST must carry the session's CSRF token and come from an admin session, whatever it posts.
 */
import { Hono } from "hono";
import type { Context } from "hono";
import { jsxRenderer } from "hono/jsx-renderer";
import type { Deps } from "../deps.ts";
import { assetNamed } from "./assets.ts";
import { baseOf, CONSOLE_ROOT, type ConsoleEnv, href } from "./context.ts";
import { errorPage } from "./error_page.tsx";
import { DciError } from "../dci/errors.ts";
import { storageFault } from "../http/errors.ts";
import { loggedPath } from "../http/logged_path.ts";
import { consoleLayout } from "./layout.tsx";
import { cookieOptions, loginCookie, readSessionCookie } from "./cookies.ts";
import { loginRoutes } from "./login.tsx";
import { csrfMatches, takeForThisPage } from "./session.ts";
import { dashboardPage } from "./pages/dashboard.tsx";
import { adminTokenPages } from "./pages/admin_tokens.tsx";
import { transactionPages } from "./pages/transactions.tsx";
import { auditPages } from "./pages/audit.tsx";
import { subscriptionPages } from "./pages/subscriptions.tsx";
import { registryPages } from "./pages/registry.tsx";
import { senderPages } from "./pages/senders.tsx";
import { oauthClientPages } from "./pages/oauth_clients.tsx";
import { serverKeyPages } from "./pages/server_keys.tsx";
import { importPages, isStreamedUpload } from "./pages/imports.tsx";

/** The console's strict policy: only this origin's scripts, styles and forms; no inline anything; no framing. */
export const CONSOLE_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "frame-ancestors 'none'",
  "form-action 'self'",
  "base-uri 'none'",
].join("; ");

/** Adds one area's pages to the console (paths relative to the console root). */
export type ConsoleModule = (app: Hono<ConsoleEnv>, deps: Deps) => void;

/** The console's page modules; each adds its line to nav.ts too. */
const MODULES: readonly ConsoleModule[] = [
  dashboardPage,
  senderPages,
  oauthClientPages,
  serverKeyPages,
  adminTokenPages,
  transactionPages,
  subscriptionPages,
  registryPages,
  importPages,
  auditPages,
];

/** POST paths a viewer may use (logging out writes nothing an admin token guards). */
const VIEWER_POSTS = new Set(["/console/logout"]);

/** The console's router, mounted at /console. */
export function consoleRoutes(deps: Deps): Hono<ConsoleEnv> {
  const app = new Hono<ConsoleEnv>();
  app.get("/assets/:name", (c) => {
    const asset = assetNamed(c.req.param("name"));
    if (!asset) return c.text("Not found", 404);
    return c.body(asset.body, 200, {
      "content-type": asset.type,
      "cache-control": "public, max-age=31536000, immutable",
    });
  });
  app.use("*", async (c, next) => {
    c.set("base", baseOf(c.req.path));
    const session = await readSessionCookie(c, deps);
    c.set("session", session);
    // Read a POST body whole first: an over-long one fails here with limitBody's 413, before any handler
    // looks at only part of it (parseBody reads the cached copy). Only with a session, or to log in with the login
    // form's cookie: any other POST is refused unread, so no one without them can hold the server reading a body.
    // An import upload is the exception: it is streamed to disk, and its CSRF field is checked in the stream.
    const streamed = isStreamedUpload(c.req.method, c.req.path);
    const read = Boolean(session) || (c.req.path === `${CONSOLE_ROOT}/login` && Boolean(loginCookie(c)));
    if (c.req.method !== "GET" && c.req.method !== "HEAD" && !streamed && read) await c.req.arrayBuffer();
    // Only a page takes what a write kept for it: an htmx poll (the imports page asks every second) or a CSV
    // download landing between the write and its redirect would take a secret shown once, and show it nowhere.
    const page = c.req.method === "GET" && !c.req.header("hx-request") && !c.req.path.endsWith(".csv");
    if (session && page) c.set("once", await takeForThisPage(deps, session));
    await next();
    c.res.headers.set("Content-Security-Policy", CONSOLE_CSP);
    if (!c.res.headers.has("cache-control")) c.res.headers.set("cache-control", "no-store");
  });
  app.use("*", jsxRenderer(consoleLayout(), { docType: true }));
  loginRoutes(app, deps);
  app.use("*", async (c, next) => {
    const session = c.get("session");
    if (!session) {
      // An htmx request (the imports page's poll) follows a 303 inside its XMLHttpRequest and would swap the login
      // page into the page, where its relative form posts to the wrong URL. HX-Redirect on a 200 (htmx 2 reads it
      // before any swap) has the browser load the login page itself; the path is the session cookie's.
      if (c.req.header("hx-request")) return c.body(null, 200, { "HX-Redirect": loginPath(c, deps) });
      if (c.req.method === "GET" || c.req.method === "HEAD") return c.redirect(href(c, "login"), 303);
      return errorPage(c, 403, "Your session has ended: log in again.");
    }
    if (c.req.method !== "GET" && c.req.method !== "HEAD") {
      // The streamed upload checks its CSRF field before the file (pages/imports.tsx); the role check stays here.
      const streamed = isStreamedUpload(c.req.method, c.req.path);
      const presented = streamed ? undefined : c.req.header("x-csrf-token") ?? await formField(c, "_csrf");
      if (!streamed && !csrfMatches(session, presented)) {
        return errorPage(c, 403, "This form has no valid CSRF token: reload the page and try again.");
      }
      if (session.role !== "admin" && !VIEWER_POSTS.has(c.req.path)) {
        return errorPage(c, 403, `Role "${session.role}" may only read: this change was refused.`);
      }
    }
    await next();
  });
  for (const add of MODULES) add(app, deps);
  app.all("*", (c) => errorPage(c, 404, `There is no console page ${c.req.path}.`));
  app.onError((err, c) => {
    if (err instanceof DciError && err.status === 413) {
      return errorPage(c as Context<ConsoleEnv>, 413, err.message);
    }
    // A held write lock, a full disk, a database out of reach: 503 with Retry-After, as the API answers.
    // The request's logger (its request_id ties the line to the access line), and the error with its stack.
    const log = (c as Context<ConsoleEnv>).get("log") ?? deps.log;
    const fault = storageFault(err, deps, log);
    if (fault) {
      for (const [name, value] of Object.entries(fault.headers)) c.header(name, value);
      return errorPage(c as Context<ConsoleEnv>, 503, `${fault.message}.`);
    }
    log.error("console error", { err, path: loggedPath(c.req.path) });
    return errorPage(c as Context<ConsoleEnv>, 500, "Something went wrong; the server log has the details.");
  });
  return app;
}

/**
 * The login page's absolute path, for an htmx redirect (resolved against the page, not the request htmx made):
 * under the path of DCI_PUBLIC_URL, where the session cookie lives.
 */
function loginPath(c: Context<ConsoleEnv>, deps: Deps): string {
  return `${cookieOptions(c, deps).path}/login`;
}

/** A field of a form body (url-encoded or multipart), or undefined. */
async function formField(c: Context<ConsoleEnv>, name: string): Promise<unknown> {
  const type = c.req.header("content-type") ?? "";
  if (!/^(application\/x-www-form-urlencoded|multipart\/form-data)/i.test(type)) return undefined;
  try {
    return (await c.req.parseBody())[name];
  } catch {
    return undefined;
  }
}
