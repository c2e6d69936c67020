/**
 * Security headers on every answer: `nosniff` everywhere (a browser never reads our JSON or text as script or
 * HTML), and on HTML pages (the Swagger UI docs) a Content-Security-Policy that allows only this origin's
 * scripts, styles and API calls, no framing (`frame-ancestors 'none'`, X-Frame-Options for old browsers) and no
 * Referer leaving the page.
 */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.ts";

/**
 * The docs page's policy. Swagger UI runs from our own bundled scripts and stylesheet and calls our own API;
 * it sets inline styles and uses data: images (its icons), hence `'unsafe-inline'` for styles and `data:`.
 */
export const HTML_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
  "form-action 'none'",
].join("; ");

/** Sets the security headers on the way out (error answers included). */
export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next();
    const headers = c.res.headers;
    try {
      headers.set("X-Content-Type-Options", "nosniff");
      if ((headers.get("content-type") ?? "").toLowerCase().startsWith("text/html")) {
        // A page that set its own (stricter) policy keeps it: the console does.
        if (!headers.has("Content-Security-Policy")) headers.set("Content-Security-Policy", HTML_CSP);
        headers.set("X-Frame-Options", "DENY");
        headers.set("Referrer-Policy", "no-referrer");
      }
    } catch { /* immutable headers (a fetched response passed through): the answer matters more */ }
  };
}
