/** Cross-cutting middleware: request id, access log and metrics, content type, body size. */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "./context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import { nulPath } from "./json_depth.ts";
import { clientAddress, parseTrustedProxies } from "../net/client_address.ts";
import { loggedPath } from "./logged_path.ts";

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
    const requestId = requestIdOf(c.req.raw);
    c.set("requestId", requestId);
    const peer = (c.env as { remoteAddr?: { hostname?: string } } | undefined)?.remoteAddr?.hostname;
    const client = clientAddress(peer, c.req.raw.headers, proxies);
    c.set("clientIp", client.ip);
    if (client.proto) c.set("clientProto", client.proto);
    c.set("logFields", {});
    c.set("log", deps.log.child({ request_id: requestId }));
    // Here rather than in limitBody: every request passes observe, the bulk search upload (which bypasses
    // limitBody) included, and observe has the config.
    const watched = watchBodyIdle(c.req.raw, deps.config.bodyIdleTimeoutMs);
    if (watched) c.req.raw = watched.request;
    try {
      await next();
    } finally {
      watched?.stop();
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
      try {
        c.res.headers.set("X-Request-ID", requestId);
      } catch {
        /* an extension's fetched or redirect answer has immutable headers: it is answered without */
      }
      const fields = {
        method: c.req.method,
        // Cut: a client chooses its length (up to the request head's limit), and the line is written unauthenticated.
        path: loggedPath(c.req.path),
        client_ip: client.ip,
        status: c.res.status,
        ms: +(seconds * 1000).toFixed(2),
      };
      const log = c.get("log").child(c.get("logFields"));
      if (c.res.status >= 500) {
        log.error("request", fields);
      } else if (deps.config.logLevel === "debug") log.debug("request", fields);
      else log.info("request", fields);
    }
  };
}

/** A request's id: its well-formed X-Request-ID, else a new UUID. */
export function requestIdOf(req: Request): string {
  const incoming = req.headers.get("x-request-id");
  return incoming && REQUEST_ID.test(incoming) ? incoming : crypto.randomUUID();
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
 * Refuses a request whose path, query or JSON body holds a NUL character (400), naming where: no operator input
 * may (PostgreSQL text cannot store one: a sender, client or token name, a path parameter answered 500 there;
 * SQLite stored it). Registry bodies are checked as they are parsed (src/auth/middleware.ts readEnvelope).
 */
export function refuseNul(): MiddlewareHandler<AppEnv> {
  const refused = (where: string) =>
    new DciError("err.request.bad", `${where} holds a NUL character (%00, \\u0000), which no value may`);
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (url.pathname.includes("%00")) throw refused("The request path");
    if (url.search.includes("%00")) {
      const [name] = [...url.searchParams].find(([k, v]) => k.includes("\0") || v.includes("\0")) ?? [];
      throw refused(
        name === undefined ? "The query" : `Query parameter ${JSON.stringify(name).slice(0, 42)}`,
      );
    }
    const type = (c.req.header("content-type") ?? "").toLowerCase();
    if (c.req.raw.body !== null && /json/.test(type)) {
      const text = await c.req.text();
      if (text.includes("\\u0000")) {
        // Not JSON (the route says so) or an escaped backslash before "u0000" (no NUL): nothing to name here.
        let path: string | undefined;
        try {
          path = nulPath(JSON.parse(text));
        } catch { /* the route refuses it */ }
        if (path !== undefined) throw refused(path === "(body)" ? "The body" : `The body's ${path}`);
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
  // From the headers only, not `req.body` (see limitBody).
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
    // A declared length is checked without reading `c.req.raw.body`: Deno.serve hands a handler the body of a
    // small request (up to about 1 KB here) without a stream, unless `body` was read first, which makes the
    // stream and reads through it (~7 µs more a request, measured on a bare server).
    const declared = c.req.raw.headers.get("content-length");
    if ((declared !== null && !c.req.raw.headers.has("transfer-encoding")) || !c.req.raw.body) {
      if (Number(declared ?? 0) > maxSize) throw tooLarge();
      await next();
      return answerIdle(c.req.raw, c.res.status);
    }
    const body = c.req.raw.body;
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
    answerIdle(raw, c.res.status);
  };
}

/** Throws the 408 of a body watchBodyIdle gave up on when a reader answered its failed read otherwise. */
function answerIdle(req: Request, status: number): void {
  const idle = IDLE.get(req);
  if (idle?.timedOut && status !== 408) throw idle.error();
}

/** The smallest declared body watchBodyIdle watches. */
export const WATCHED_FROM_BYTES = 64 * 1024;

/** A watched body's state, by the request observe made for it (per request: gone with the request). */
const IDLE = new WeakMap<Request, { timedOut: boolean; error(): DciError }>();

/**
 * `req` with its body watched: a read that waits more than `idleMs` for the next chunk fails with 408
 * err.request.timeout (Deno.serve has no body timeout), for a body of unknown length or declared over
 * WATCHED_FROM_BYTES. Only time spent waiting on the client counts, not a
 * handler that reads late or slowly. Undefined (nothing to watch) without a body or with `idleMs` 0. One timer at
 * most, re-armed lazily from the time the current read began (no timer churn per chunk); `stop()` clears it.
 */
export function watchBodyIdle(
  req: Request,
  idleMs: number,
): { request: Request; stop(): void } | undefined {
  if (idleMs <= 0) return undefined;
  // A small declared body holds little while it stalls (no more than a stalled header, which nothing here can
  // bound), and watching costs a stream layer and a new Request (~10 µs, 2-3 % of a signed search's CPU): only
  // bodies of unknown length or over WATCHED_FROM_BYTES are watched, decided before `req.body` is read (see
  // limitBody).
  const declared = req.headers.get("content-length");
  if (declared !== null && !req.headers.has("transfer-encoding") && Number(declared) <= WATCHED_FROM_BYTES) {
    return undefined;
  }
  const body = req.body;
  if (!body) return undefined;
  const reader = body.getReader();
  const state = {
    timedOut: false,
    error: () =>
      new DciError(
        "err.request.timeout",
        `The request body sent nothing for ${idleMs / 1000} s; send it without pauses`,
      ),
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  // When the read under way began (-1: none under way); the timer compares against it when it fires.
  let waitingSince = -1;
  let ctl: ReadableStreamDefaultController<Uint8Array> | undefined;
  const stop = () => {
    clearTimeout(timer);
    timer = undefined;
  };
  const check = () => {
    timer = undefined;
    if (waitingSince < 0) return; // re-armed by the next read
    const left = waitingSince + idleMs - performance.now();
    if (left > 0) return void (timer = setTimeout(check, left));
    state.timedOut = true;
    const err = state.error();
    ctl?.error(err);
    reader.cancel(err).catch(() => {});
  };
  const watched = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
    },
    async pull(c) {
      waitingSince = performance.now();
      timer ??= setTimeout(check, idleMs);
      let chunk: ReadableStreamReadResult<Uint8Array>;
      try {
        chunk = await reader.read();
      } catch (err) {
        stop();
        if (!state.timedOut) c.error(err);
        return;
      }
      waitingSince = -1;
      if (state.timedOut) return;
      if (chunk.done) {
        stop();
        c.close();
      } else c.enqueue(chunk.value);
    },
    cancel(reason) {
      stop();
      return reader.cancel(reason);
    },
  }, { highWaterMark: 0 });
  // A new request rather than `new Request(req, …)`: copying the served request's signal makes Deno warn.
  const request = new Request(req.url, { method: req.method, headers: req.headers, body: watched });
  IDLE.set(request, state);
  return { request, stop };
}
