/** Serving the app: listen, then on a signal stop taking work, drain in-flight requests within a bound, close. */
import { flushLogBuffer } from "./obs/log_buffer.ts";
import type { Deps } from "./deps.ts";
import { createApp } from "./app.ts";
import { errAck } from "./http/errors.ts";
import { requestIdOf } from "./http/middleware.ts";
import { isTokenPath, tokenErrorBody, tokenErrorHeaders } from "./auth/token_paths.ts";
import { SERVING_BUSY_TIMEOUT_MS, setBusyTimeout } from "./db/sqlite.ts";
import { assertPortFree, explainBindError } from "./net/port_guard.ts";
import { keepListening } from "./net/kept_listener.ts";
import { type MetricsListener, startMetricsListener } from "./obs/metrics_access.ts";
import type { TlsPair } from "./net/tls.ts";

/** Requests being handled, over every HTTP isolate (a level: each isolate holds its own, /metrics sums them). */
const IN_FLIGHT = "dci_http_requests_in_flight";
const IN_FLIGHT_HELP =
  "Requests being handled, from their headers to the start of their answer (a scrape on the main port counts itself; draining refusals are not counted)";

/** A running server. */
export interface RunningServer {
  port: number;
  hostname: string;
  /**
   * Resolves when the server has stopped on request (shutdown()); rejects with a ListenerLostError when its
   * listener closed on its own and could not be re-bound.
   */
  finished: Promise<void>;
  /** Refuses new requests, waits up to the shutdown bound for in-flight ones, then closes what is left. */
  shutdown(): Promise<void>;
  /**
   * Serves new connections with `tls` from now on: a listener with the new pair joins the port (SO_REUSEPORT),
   * then the old one stops accepting and drains its in-flight requests; resolves when it has. Only for a server
   * started with TLS. Linux resets connections still queued on the old listener as it closes, unless
   * net.ipv4.tcp_migrate_req=1 hands them to the new one (bench/tls_reload.ts).
   */
  reloadTls?(tls: TlsPair): Promise<void>;
}

/** How this isolate serves: port override, port sharing, its isolate id, and its "listening" log line. */
export interface ServeOptions {
  /** Port to bind instead of `config.port` (the HTTP isolates after the first bind the first one's port). */
  port?: number;
  /** Share the port with the other HTTP isolates (SO_REUSEPORT: the kernel spreads connections). */
  reusePort?: boolean;
  /** This isolate's id, sent as `X-DCI-Isolate` on every answer. */
  isolate?: string;
  /** The log message when listening ("listening" when this isolate is the whole server). */
  listenMessage?: string;
  /**
   * This bind is the server's first on its port: with `reusePort`, probe first that no other process holds the
   * port (src/net/port_guard.ts). Without `reusePort` the bind itself refuses a taken port.
   */
  exclusive?: boolean;
  /** Serve HTTPS with this certificate and key (checked by src/net/tls.ts); plain HTTP without. */
  tls?: TlsPair;
}

/** Starts the HTTP server for `deps`; it is listening when this returns. */
export function startServer(deps: Deps, options: ServeOptions = {}): RunningServer {
  const app = createApp(deps);
  // A synchronous wait for the write lock stops this isolate's event loop: keep it short here (a write that
  // cannot get the lock answers 503); the request path's group commit waits asynchronously instead.
  if (deps.db) setBusyTimeout(deps.db, SERVING_BUSY_TIMEOUT_MS);
  // The replay guard's index loads now, not in the first signed request's time (src/auth/replay.ts; if this
  // fails, that request loads it).
  deps.storage.limits.warm(deps.clock.now(), deps.config.replayWindowSeconds * 1000).catch((err) =>
    deps.log.warn("replay guard index not loaded at start", { err })
  );
  const isolate = options.isolate ?? "main";
  const abort = new AbortController();
  let inflight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;
  // Deno's server.shutdown() cuts request bodies still being uploaded, so in-flight requests are counted here
  // and the server is only shut down once they have been answered (or the bound has passed).
  // Served over TLS itself (not behind a terminating proxy): browsers are told to keep to HTTPS for a year. Not
  // includeSubDomains: other hosts under the same name are not ours to bind.
  const hsts = options.tls ? "max-age=31536000" : undefined;
  const handler = async (req: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    if (draining) {
      const requestId = requestIdOf(req);
      const headers: Record<string, string> = {
        connection: "close",
        "retry-after": "1",
        "x-dci-isolate": isolate,
        "x-content-type-options": "nosniff",
        "x-request-id": requestId,
        ...(hsts ? { "strict-transport-security": hsts } : {}),
      };
      // The token endpoint answers in RFC 6749's shape, as its other refusals do (OAuth2 libraries read `error`).
      if (isTokenPath(new URL(req.url).pathname)) {
        return Response.json(tokenErrorBody("temporarily_unavailable", "Server is shutting down"), {
          status: 503,
          headers: tokenErrorHeaders(503, headers),
        });
      }
      const body = errAck(
        "err.service.unavailable",
        "Server is shutting down",
        requestId,
        new Date().toISOString(),
      );
      return Response.json(body, { status: 503, headers });
    }
    inflight++;
    deps.metrics.add(IN_FLIGHT, IN_FLIGHT_HELP, {}, 1);
    try {
      const res = await app.fetch(req, info);
      try {
        res.headers.set("x-dci-isolate", isolate);
        if (hsts) res.headers.set("strict-transport-security", hsts);
      } catch { /* immutable headers: the answer matters more than the label */ }
      return res;
    } finally {
      deps.metrics.add(IN_FLIGHT, IN_FLIGHT_HELP, {}, -1);
      if (--inflight === 0) onIdle?.();
    }
  };
  const port = options.port ?? deps.config.port;
  // With TLS every bind shares its port (SO_REUSEPORT), so that a reload can bind the new certificate beside
  // the old listener before that one closes: the port never stops accepting.
  const reusePort = (options.reusePort ?? false) || options.tls !== undefined;
  const scheme = options.tls ? "https" : "http";
  const listen = (bindPort: number, tls: TlsPair | undefined, message: string) =>
    Deno.serve({
      port: bindPort,
      hostname: deps.config.host,
      reusePort,
      signal: abort.signal,
      ...(tls ? { cert: tls.cert, key: tls.key } : {}),
      onListen: ({ port, hostname }) => {
        deps.log.info(message, { port, hostname, url: `${scheme}://${hostname}:${port}` });
        // Readiness is read from this line (supervisors, tests, benches): it does not wait for its log batch.
        flushLogBuffer();
      },
      onError: (err) => {
        // Not the request's own id (Deno passes only the error): a new one, logged, so a report can be matched.
        const requestId = crypto.randomUUID();
        deps.log.error("unhandled server error", { err, request_id: requestId });
        return new Response(null, {
          status: 500,
          headers: { "x-content-type-options": "nosniff", "x-request-id": requestId },
        });
      },
    }, handler);
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    // Probe and bind in one synchronous run: nothing can bind the port in between but another process's
    // own probe-and-bind racing within microseconds. A port shared only for TLS reloads is probed too.
    const probe = reusePort && (options.exclusive || !options.reusePort);
    if (probe) assertPortFree(deps.config.host, port);
    server = listen(port, options.tls, options.listenMessage ?? "listening");
  } catch (err) {
    throw explainBindError(err, deps.config.host, port);
  }
  const addr = server.addr;
  // The server's first bind (its only one, or its first isolate's) also serves /metrics when it has its own address.
  const first = options.exclusive || !options.reusePort;
  let metrics: MetricsListener | undefined;
  try {
    metrics = deps.config.metricsListen && first ? startMetricsListener(deps) : undefined;
  } catch (err) {
    abort.abort();
    throw err;
  }
  // `finished` follows the listener serving at the time: one replaced by a TLS reload does not end the server,
  // and one that closes on its own (Deno closes it when accept() fails, e.g. with EMFILE) is re-bound.
  let tls = options.tls;
  const kept = keepListening(server, {
    bind: () => {
      // A listener that shares its port only for TLS reloads is alone on it: anyone else there took it meanwhile.
      if (reusePort && !options.reusePort) assertPortFree(deps.config.host, addr.port);
      return listen(addr.port, tls, "listening again");
    },
    log: deps.log,
    hostname: deps.config.host,
    port: addr.port,
    what: "listener",
  });
  const retiring = new Set<Promise<void>>();
  const reloadTls = (next: TlsPair): Promise<void> => {
    if (draining) return Promise.resolve();
    // Deno.serve binds synchronously: the new listener accepts before the old one stops.
    const old = kept.replace(listen(addr.port, next, "tls certificate loaded"));
    tls = next;
    // In-flight requests on the old listener finish; its idle keep-alive connections are closed.
    const retired = old.shutdown().catch(() => {}).finally(() => retiring.delete(retired));
    retiring.add(retired);
    // Resolves once the old listener is closed and drained: a connection made after that reaches the new one.
    return retired;
  };
  return {
    port: addr.port,
    hostname: addr.hostname,
    finished: kept.finished,
    reloadTls: options.tls ? reloadTls : undefined,
    shutdown: async () => {
      draining = true;
      kept.stop();
      const deadline = Date.now() + deps.config.shutdownTimeoutMs;
      const idle = inflight === 0 ? Promise.resolve() : new Promise<void>((r) => onIdle = r);
      const stopAll = () => Promise.all([kept.shutdownAll(), ...retiring]);
      const drained = await withinBound(idle.then(stopAll), deadline);
      if (!drained) {
        deps.log.warn("shutdown bound reached; aborting in-flight requests", {
          ms: deps.config.shutdownTimeoutMs,
          inflight,
        });
        abort.abort();
      }
      await kept.finished.catch(() => {});
      // Its own listener, graceful and without the requests' abort: a scraper that never reads its answer must
      // not hold the stop past the bound (the process then ends with it).
      if (metrics) await withinBound(metrics.shutdown(), deadline);
    },
  };
}

/** Resolves true if `work` settles before `deadline` (epoch ms), false otherwise. */
async function withinBound(work: Promise<unknown>, deadline: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<false>((r) =>
    timer = setTimeout(() => r(false), Math.max(0, deadline - Date.now()))
  );
  try {
    return await Promise.race([work.then(() => true, () => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
