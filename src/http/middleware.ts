/** Cross-cutting middleware: request id, access log and metrics, content type, body size. */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import { clientAddress, parseTrustedProxies } from "../net/client_address.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Methods recorded by name in metrics; any other token a client sends counts as "other" (bounded series). */
const METRIC_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/**
 * Assigns a request id (a well-formed incoming X-Request-ID is kept), resolves the client address (through
 * trusted proxies only), logs the request and records metrics.
 */
export function observe(deps: Deps): MiddlewareHandler<AppEnv> {
  const proxies = parseTrustedProxies(deps.config.trustedProxies);
  return async (c, next) => {
    const start = performance.now();
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
    const peer = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname;
    const client = clientAddress(peer, c.req.raw.headers, proxies);
    c.set("clientIp", client.ip);
    if (client.proto) c.set("clientProto", client.proto);
    c.set("logFields", {});
    c.set("log", deps.log.child({ request_id: requestId }));
    try {
      await next();
    } finally {
      const seconds = (performance.now() - start) / 1000;
      // After next() the route path is the matched handler's pattern (bounded cardinality); "*" means none matched.
      const route = c.req.routePath === "/*" || c.req.routePath === "*" ? "unmatched" : c.req.routePath;
      const status = String(c.res.status);
      deps.metrics.inc("dci_http_requests_total", "HTTP requests by route and status", {
        // A client chooses the method (any token, any length): as a label it would add a series per value.
        method: METRIC_METHODS.has(c.req.method) ? c.req.method : "other",
        route,
        status,
      });
      deps.metrics.observe("dci_http_request_duration_seconds", "HTTP request latency", { route }, seconds);
      const registry = registryOfRoute(route, deps.config.defaultRegistry);
      if (registry) {
        // The dashboard's requests by registry, sender and status (src/obs/history.ts samples it each minute).
        // The sender is known only once its token verified, so the label is one of the registered senders.
        deps.metrics.inc("dci_registry_requests_total", "Registry requests by registry, sender and status", {
          registry,
          sender: String(c.get("logFields").sender_id ?? "-"),
          status,
        });
      }
      c.res.headers.set("X-Request-ID", requestId);
      const fields = {
        method: c.req.method,
        path: c.req.path,
        client_ip: client.ip,
        status: c.res.status,
        ms: +(seconds * 1000).toFixed(2),
      };
      const log = c.get("log").child(c.get("logFields"));
      if (c.res.status >= 500) log.error("request", fields);
      else if (deps.config.logLevel === "debug") log.debug("request", fields);
      else log.info("request", fields);
    }
  };
}

/**
 * The registry a matched route serves: `/dci_api/v1/{name}/registry/...`, or the default registry for the
 * prefix-less paths (`/registry/...`, `/dci_api/v1/registry/...`); undefined for any other route.
 */
export function registryOfRoute(route: string, defaultRegistry: string): string | undefined {
  const m = /^\/dci_api\/v1\/([a-z][a-z0-9_-]{0,31})\/registry(\/|$)/.exec(route);
  if (m) return m[1];
  return /^\/(dci_api\/v1\/)?registry(\/|$)/.test(route) ? defaultRegistry : undefined;
}

/** Refuses a body that is not JSON with 415 (only where a body is expected); a request without a body passes. */
export function requireJson(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const write = c.req.method === "POST" || c.req.method === "PUT" || c.req.method === "PATCH";
    if (write && hasBody(c.req.raw)) {
      const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
      if (type !== "application/json" && !(type.startsWith("application/") && type.endsWith("+json"))) {
        throw new DciError(
          "err.request.bad",
          `Content-Type must be application/json, not "${type || "(none)"}"`,
          {
            status: 415,
          },
        );
      }
    }
    await next();
  };
}

/**
 * Whether a request carries a body, from its headers alone (the body is never read ahead of its route): HTTP/1.1
 * sends one only with Transfer-Encoding or a non-zero Content-Length, so a bare `curl -X POST …/disable` has none.
 */
function hasBody(req: Request): boolean {
  if (req.body === null) return false;
  const length = req.headers.get("content-length");
  return req.headers.has("transfer-encoding") || (length !== null && Number(length) !== 0);
}

/**
 * Refuses bodies over the configured limit with 413, whether or not Content-Length is sent. A body is never
 * read ahead of its route: a declared length is checked at once, a chunked body is counted as the route reads
 * it. So a route that refuses first (the auth chain, a sender over its rate limit) never reads the body at all.
 */
export function limitBody(maxSize: number): MiddlewareHandler<AppEnv> {
  const tooLarge = () =>
    new DciError("err.request.bad", `Request body is larger than the limit of ${maxSize} bytes`, {
      status: 413,
    });
  return async (c, next) => {
    const body = c.req.raw.body;
    const declared = c.req.raw.headers.get("content-length");
    if (!body || (declared !== null && !c.req.raw.headers.has("transfer-encoding"))) {
      if (Number(declared ?? 0) > maxSize) throw tooLarge();
      return await next();
    }
    let size = 0;
    let over = false;
    const counted = body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) {
          size += chunk.byteLength;
          if (size <= maxSize) return ctl.enqueue(chunk);
          over = true;
          ctl.error(tooLarge());
        },
      }),
    );
    // A new request rather than `new Request(raw, …)`: copying the served request's signal makes Deno warn.
    const raw = c.req.raw;
    c.req.raw = new Request(raw.url, { method: raw.method, headers: raw.headers, body: counted });
    await next();
    // A reader that turned the failed read into its own error (a JSON validator's 400) still answers 413.
    if (over && c.res.status !== 413) throw tooLarge();
  };
}
