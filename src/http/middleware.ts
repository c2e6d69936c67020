/** Cross-cutting middleware: request id, access log and metrics, content type, body size. */
import type { MiddlewareHandler } from "hono";
import { bodyLimit } from "hono/body-limit";
import type { AppEnv } from "./context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/** Methods recorded by name in metrics; any other token a client sends counts as "other" (bounded series). */
const METRIC_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);

/** Assigns a request id (a well-formed incoming X-Request-ID is kept), logs the request and records metrics. */
export function observe(deps: Deps): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const start = performance.now();
    const incoming = c.req.header("x-request-id");
    const requestId = incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
    c.set("requestId", requestId);
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
      c.res.headers.set("X-Request-ID", requestId);
      const fields = {
        method: c.req.method,
        path: c.req.path,
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

/** Refuses a body that is not JSON with 415 (only where a body is expected). */
export function requireJson(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (c.req.method === "POST" || c.req.method === "PUT" || c.req.method === "PATCH") {
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

/** Refuses bodies over the configured limit with 413, whether or not Content-Length is sent. */
export function limitBody(maxSize: number): MiddlewareHandler<AppEnv> {
  return bodyLimit({
    maxSize,
    onError: () => {
      throw new DciError("err.request.bad", `Request body is larger than the limit of ${maxSize} bytes`, {
        status: 413,
      });
    },
  });
}
