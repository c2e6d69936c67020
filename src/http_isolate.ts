/**
 * An HTTP isolate (a Web Worker started by `startHttpIsolates`): its own SQLite connection, KV handle, key
 * cache and metrics, serving the app on the shared port. It never migrates, creates keys, runs start-up tasks,
 * the queue worker, the notifier or cron: the main isolate does those, and this one wakes it over the bus.
 */
import type { Config } from "./config.ts";
import { closeDeps, type Deps, openDeps } from "./deps.ts";
import { createLogger } from "./obs/log.ts";
import { flushLogBuffer } from "./obs/log_buffer.ts";
import { startServer } from "./server.ts";
import { guardStrayConnectionResets } from "./net/stray_resets.ts";
import type { TlsPair } from "./net/tls.ts";
import type { QueueMessage } from "./jobs/queue.ts";

/** What the main isolate sends an HTTP isolate. */
export type ToIsolate =
  | {
    t: "start";
    config: Config;
    isolate: string;
    port: number;
    bus: string;
    isolates: number;
    workerOnBus: boolean;
    /** The first isolate to bind the port: it probes that no other process holds it. */
    exclusive: boolean;
    /** Serve HTTPS with this pair (read and checked once by the main isolate). */
    tls?: TlsPair;
  }
  | { t: "tls"; tls: TlsPair }
  | { t: "drain" }
  /** The main isolate's hang check: answered at once with "pong" (src/http_isolates.ts). */
  | { t: "ping" };

/** What an HTTP isolate answers. */
export type FromIsolate =
  | { t: "ready"; port: number; hostname: string }
  /** Wake-ups for the worker (src/jobs/bus.ts: the port, not the BroadcastChannel, which may drop them). */
  | { t: "wake"; m: QueueMessage[] }
  | { t: "failed"; error: string }
  | { t: "tls-loaded"; error?: string }
  | { t: "stopped" }
  | { t: "pong" };

interface WorkerScope {
  postMessage(message: FromIsolate): void;
  onmessage: ((e: MessageEvent<ToIsolate>) => void) | null;
  close(): void;
}

const scope = self as unknown as WorkerScope;
let running:
  | { deps: Deps; shutdown(): Promise<void>; reloadTls?(tls: TlsPair): Promise<void> }
  | undefined;

async function start(msg: Extract<ToIsolate, { t: "start" }>): Promise<void> {
  const log = createLogger(msg.config.logLevel).child({ isolate: msg.isolate });
  guardStrayConnectionResets(log);
  const deps = await openDeps(msg.config, {
    log,
    migrateOnOpen: false,
    ensureKey: false,
    bus: {
      name: msg.bus,
      isolate: msg.isolate,
      isolates: msg.isolates,
      workerOnBus: msg.workerOnBus,
      toMain: (m) => scope.postMessage({ t: "wake", m }),
    },
  });
  try {
    const server = startServer(deps, {
      port: msg.port,
      reusePort: true,
      isolate: msg.isolate,
      listenMessage: "http isolate listening",
      exclusive: msg.exclusive,
      tls: msg.tls,
    });
    running = { deps, shutdown: server.shutdown, reloadTls: server.reloadTls };
    scope.postMessage({ t: "ready", port: server.port, hostname: server.hostname });
    // A listener that closed on its own and could not be re-bound (src/server.ts) leaves this isolate serving
    // nothing: the main isolate is told, and stops the server with a failure.
    server.finished.catch((err) =>
      scope.postMessage({ t: "failed", error: err instanceof Error ? err.message : String(err) })
    );
  } catch (err) {
    await closeDeps(deps);
    throw err;
  }
}

async function reloadTls(tls: TlsPair): Promise<void> {
  try {
    await running?.reloadTls?.(tls);
    scope.postMessage({ t: "tls-loaded" });
  } catch (err) {
    // The old listener still serves: a refused certificate is the reload's failure, not this isolate's.
    scope.postMessage({ t: "tls-loaded", error: err instanceof Error ? err.message : String(err) });
  }
}

async function drain(): Promise<void> {
  if (running) {
    await running.shutdown();
    await closeDeps(running.deps);
  }
  flushLogBuffer();
  scope.postMessage({ t: "stopped" });
  scope.close();
}

scope.onmessage = (e) => {
  const msg = e.data;
  if (msg.t === "ping") return scope.postMessage({ t: "pong" });
  const work = msg.t === "start" ? start(msg) : msg.t === "tls" ? reloadTls(msg.tls) : drain();
  work.catch((err) =>
    scope.postMessage({ t: "failed", error: err instanceof Error ? err.message : String(err) })
  );
};
