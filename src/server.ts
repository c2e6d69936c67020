/** Serving the app: listen, then on a signal stop taking work, drain in-flight requests within a bound, close. */
import type { Deps } from "./deps.ts";
import { createApp } from "./app.ts";
import { errAck } from "./http/errors.ts";
import { SERVING_BUSY_TIMEOUT_MS, setBusyTimeout } from "./db/sqlite.ts";
import { assertPortFree, explainBindError } from "./net/port_guard.ts";
import { type MetricsListener, startMetricsListener } from "./obs/metrics_access.ts";

/** A running server. */
export interface RunningServer {
  port: number;
  hostname: string;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  /** Refuses new requests, waits up to the shutdown bound for in-flight ones, then closes what is left. */
  shutdown(): Promise<void>;
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
}

/** Starts the HTTP server for `deps`; it is listening when this returns. */
export function startServer(deps: Deps, options: ServeOptions = {}): RunningServer {
  const app = createApp(deps);
  // A synchronous wait for the write lock stops this isolate's event loop: keep it short here (a write that
  // cannot get the lock answers 503); the request path's group commit waits asynchronously instead.
  setBusyTimeout(deps.db, SERVING_BUSY_TIMEOUT_MS);
  const isolate = options.isolate ?? "main";
  const abort = new AbortController();
  let inflight = 0;
  let draining = false;
  let onIdle: (() => void) | undefined;
  // Deno's server.shutdown() cuts request bodies still being uploaded, so in-flight requests are counted here
  // and the server is only shut down once they have been answered (or the bound has passed).
  const handler = async (req: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    if (draining) {
      const body = errAck(
        "err.service.unavailable",
        "Server is shutting down",
        "shutdown",
        new Date().toISOString(),
      );
      return Response.json(body, {
        status: 503,
        headers: {
          connection: "close",
          "retry-after": "1",
          "x-dci-isolate": isolate,
          "x-content-type-options": "nosniff",
        },
      });
    }
    inflight++;
    try {
      const res = await app.fetch(req, info);
      try {
        res.headers.set("x-dci-isolate", isolate);
      } catch { /* immutable headers: the answer matters more than the label */ }
      return res;
    } finally {
      if (--inflight === 0) onIdle?.();
    }
  };
  const port = options.port ?? deps.config.port;
  let server: Deno.HttpServer<Deno.NetAddr>;
  try {
    // Probe and bind in one synchronous run: nothing can bind the port in between but another process's
    // own probe-and-bind racing within microseconds.
    if (options.reusePort && options.exclusive) assertPortFree(deps.config.host, port);
    server = Deno.serve({
      port,
      hostname: deps.config.host,
      reusePort: options.reusePort ?? false,
      signal: abort.signal,
      onListen: ({ port, hostname }) =>
        deps.log.info(options.listenMessage ?? "listening", {
          port,
          hostname,
          url: `http://${hostname}:${port}`,
        }),
      onError: (err) => {
        deps.log.error("unhandled server error", { err });
        return new Response(null, { status: 500 });
      },
    }, handler);
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
  return {
    port: addr.port,
    hostname: addr.hostname,
    finished: server.finished,
    shutdown: async () => {
      draining = true;
      const deadline = Date.now() + deps.config.shutdownTimeoutMs;
      const idle = inflight === 0 ? Promise.resolve() : new Promise<void>((r) => onIdle = r);
      const drained = await withinBound(idle.then(() => server.shutdown()), deadline);
      if (!drained) {
        deps.log.warn("shutdown bound reached; aborting in-flight requests", {
          ms: deps.config.shutdownTimeoutMs,
          inflight,
        });
        abort.abort();
      }
      await server.finished.catch(() => {});
      await metrics?.shutdown();
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
