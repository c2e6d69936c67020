/** Serving the app: listen, then on a signal stop accepting, drain in-flight requests within a bound, close. */
import type { Deps } from "./deps.ts";
import { createApp } from "./app.ts";

/** A running server. */
export interface RunningServer {
  port: number;
  hostname: string;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  /** Stops accepting, waits up to the shutdown bound for in-flight requests, then aborts what is left. */
  shutdown(): Promise<void>;
}

/** Starts the HTTP server for `deps`; it is listening when this returns. */
export function startServer(deps: Deps): RunningServer {
  const app = createApp(deps);
  const abort = new AbortController();
  const server = Deno.serve({
    port: deps.config.port,
    hostname: deps.config.host,
    signal: abort.signal,
    onListen: ({ port, hostname }) =>
      deps.log.info("listening", { port, hostname, url: `http://${hostname}:${port}` }),
    onError: (err) => {
      deps.log.error("unhandled server error", { err });
      return new Response(null, { status: 500 });
    },
  }, app.fetch);
  const addr = server.addr;
  return {
    port: addr.port,
    hostname: addr.hostname,
    finished: server.finished,
    shutdown: async () => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<"timeout">((r) =>
        timer = setTimeout(() => r("timeout"), deps.config.shutdownTimeoutMs)
      );
      const outcome = await Promise.race([server.shutdown().then(() => "drained" as const), bound]);
      clearTimeout(timer);
      if (outcome === "timeout") {
        deps.log.warn("shutdown bound reached; aborting in-flight requests", {
          ms: deps.config.shutdownTimeoutMs,
        });
        abort.abort();
      }
      await server.finished;
    },
  };
}
