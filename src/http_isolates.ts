/**
 * The HTTP isolates of the main isolate: N Web Workers, each serving the app on the same port (SO_REUSEPORT),
 * started after the main isolate has migrated, created keys and run the start-up tasks. On shutdown each one
 * drains within the bound (the logic of src/server.ts), reports, and is ended. While they serve, the main
 * isolate checks every few seconds that each one's event loop answers: one silent for DCI_ISOLATE_HANG_SECONDS
 * (a request stuck in synchronous work) is reported as failed, which stops the server with a failure: the process
 * exits, which ends that isolate too (Worker.terminate, tried first, does not stop a thread spinning in JavaScript).
 */
import type { Deps } from "./deps.ts";
import type { RunningServer } from "./server.ts";
import type { FromIsolate, ToIsolate } from "./http_isolate.ts";
import type { TlsPair } from "./net/tls.ts";
import { dropPreloaded, newHttpIsolate, takePreloaded } from "./http_isolate_preload.ts";

/** The HTTP isolates, as one server; `failed` resolves with a reason if one of them dies on its own. */
export interface HttpIsolates extends RunningServer {
  failed: Promise<string>;
}

/** Options: how many isolates, the bus name, and whether the main isolate runs the worker. */
export interface HttpIsolateOptions {
  count: number;
  bus: string;
  workerOnBus: boolean;
  /** Serve HTTPS with this pair. */
  tls?: TlsPair;
  /** The worker of isolate `n` (default: src/http_isolate.ts, preloaded or new); tests give other modules. */
  isolate?: (n: number) => Worker;
}

/** How often the main isolate checks the HTTP isolates' event loops, in ms (a quarter of the bound when less). */
const HANG_CHECK_MS = 5000;

/** Extra time past the drain bound an isolate gets to report before it is ended. */
const REPORT_GRACE_MS = 3000;

interface Handle {
  /** Its name (`http-n`). */
  name: string;
  worker: Worker;
  ready: Promise<{ port: number; hostname: string }>;
  stopped: Promise<void>;
  /** Ends the isolate at the shutdown bound (its `stopped` then resolves: serve must not wait for it for ever). */
  terminate(): void;
  /** Called when the isolate reports its new TLS listener (or why it kept the old one). */
  tlsLoaded?: (error?: string) => void;
  /** When the isolate last sent anything (performance.now()). */
  heard: number;
  /** Set once it has stopped, died or was ended. */
  done: boolean;
  /** Reports it as hung (silent for `seconds`) and tries to end it. */
  hung(seconds: number): void;
}

/** Starts `count` HTTP isolates; resolves once all of them listen (on one port). */
export async function startHttpIsolates(deps: Deps, options: HttpIsolateOptions): Promise<HttpIsolates> {
  let fail: (reason: string) => void = () => {};
  const failed = new Promise<string>((r) => fail = r);
  let stopping = false;
  const handles: Handle[] = [];
  let watch: number | undefined;
  const spawn = (i: number, port: number): Handle => {
    const isolate = `http-${i}`;
    const worker = options.isolate?.(i) ?? takePreloaded(i) ?? newHttpIsolate(i);
    let ready: (v: { port: number; hostname: string }) => void = () => {};
    let refuse: (err: Error) => void = () => {};
    let stopped: () => void = () => {};
    const h: Handle = {
      name: isolate,
      worker,
      ready: new Promise((res, rej) => [ready, refuse] = [res, rej]),
      stopped: new Promise((r) =>
        stopped = () => {
          h.done = true;
          r();
        }
      ),
      terminate: () => {
        worker.terminate();
        stopped();
      },
      heard: performance.now(),
      done: false,
      hung: (seconds) => {
        worker.terminate();
        died(`its event loop has not answered for ${seconds} s`);
      },
    };
    // `alive`: the isolate reported the failure itself and still runs (a listener lost for good, a start that
    // failed): the stop that follows drains it like the others (its accepted connections are still served).
    // Otherwise (an uncaught error ended it, or its drain failed) it is stopped now.
    const died = (reason: string, alive = false) => {
      refuse(new Error(`HTTP isolate ${isolate} failed: ${reason}`));
      deps.log.error("HTTP isolate failed", { isolate, reason, ...(stopping ? { during_stop: true } : {}) });
      if (!stopping) fail(`${isolate}: ${reason}`);
      // After `failed`: serve hears of the failure before it sees every isolate stopped.
      if (!alive || stopping) stopped();
    };
    worker.onmessage = (e: MessageEvent<FromIsolate>) => {
      const msg = e.data;
      h.heard = performance.now();
      if (msg.t === "pong") return;
      if (msg.t === "wake") return deps.bus?.deliver(msg.m);
      if (msg.t === "ready") ready({ port: msg.port, hostname: msg.hostname });
      else if (msg.t === "tls-loaded") h.tlsLoaded?.(msg.error);
      else if (msg.t === "stopped") stopped();
      else died(msg.error, true);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      died(e.message);
    };
    const start: ToIsolate = {
      t: "start",
      config: deps.config,
      isolate,
      port,
      bus: options.bus,
      isolates: options.count + 1,
      workerOnBus: options.workerOnBus,
      exclusive: i === 1,
      tls: options.tls,
    };
    worker.postMessage(start);
    handles.push(h);
    return h;
  };

  const shutdown = async () => {
    stopping = true;
    clearInterval(watch);
    const bound = deps.config.shutdownTimeoutMs + REPORT_GRACE_MS;
    await Promise.all(handles.map(async (h) => {
      h.worker.postMessage({ t: "drain" } satisfies ToIsolate);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const ended = await Promise.race([
        h.stopped.then(() => true),
        new Promise<false>((r) => timer = setTimeout(() => r(false), bound)),
      ]);
      clearTimeout(timer);
      if (!ended) {
        deps.log.warn("HTTP isolate did not stop within the shutdown bound; ended", {
          isolate: h.name,
          bound_ms: bound,
        });
      }
      h.terminate();
    }));
  };

  // Each isolate binds the new pair beside its old listener; resolves once all of them serve it, rejects with
  // the reasons of those that kept their old listener.
  const reloadTls = async (tls: TlsPair) => {
    const errors = await Promise.all(handles.map((h) =>
      new Promise<string | undefined>((resolve) => {
        h.tlsLoaded = resolve;
        h.worker.postMessage({ t: "tls", tls } satisfies ToIsolate);
        h.stopped.then(() => resolve(undefined));
      })
    ));
    const failed = errors.filter((e) => e !== undefined);
    if (failed.length) {
      throw new Error(
        `${failed.length} of ${handles.length} HTTP isolates kept the old certificate: ${failed[0]}`,
      );
    }
  };

  try {
    // For port 0 the first isolate binds any free port, and the others join the port it got.
    const first = await spawn(1, deps.config.port).ready;
    const others = Array.from({ length: options.count - 1 }, (_, i) => spawn(i + 2, first.port));
    dropPreloaded(); // any beyond `count`
    await Promise.all(others.map((h) => h.ready));
    const finished = Promise.all(handles.map((h) => h.stopped)).then(() => {});
    watch = watchForHangs(hangBoundMs(deps), handles, () => stopping);
    return {
      port: first.port,
      hostname: first.hostname,
      finished,
      shutdown,
      failed,
      reloadTls: options.tls ? reloadTls : undefined,
    };
  } catch (err) {
    stopping = true;
    clearInterval(watch);
    dropPreloaded();
    for (const h of handles) h.worker.terminate();
    throw err;
  }
}

/**
 * How long an isolate may stay silent, in ms (0: no check): DCI_ISOLATE_HANG_SECONDS, and at least twice
 * DCI_SEARCH_BUDGET_MS, the longest a search may hold an isolate that runs its searches itself
 * (DCI_SEARCH_WORKERS=0).
 */
export function hangBoundMs(deps: Pick<Deps, "config">): number {
  const { isolateHangSeconds, searchBudgetMs } = deps.config;
  return isolateHangSeconds <= 0 ? 0 : Math.max(isolateHangSeconds * 1000, 2 * searchBudgetMs);
}

/**
 * Pings each serving isolate every HANG_CHECK_MS (or a quarter of `hangMs`) and ends one that has sent nothing
 * for `hangMs` (0: no check), counted from when the watch starts (the last isolates may have taken a while to
 * start). A check that comes late (this isolate's own event loop was held) sends its pings and judges none: the
 * answers to the earlier ones may still be waiting in this isolate's queue.
 */
function watchForHangs(hangMs: number, handles: Handle[], stopping: () => boolean): number | undefined {
  if (hangMs <= 0) return undefined;
  const every = Math.min(HANG_CHECK_MS, Math.max(50, hangMs / 4));
  let last = performance.now();
  for (const h of handles) h.heard = Math.max(h.heard, last);
  const timer = setInterval(() => {
    const now = performance.now();
    const late = now - last > 2 * every;
    last = now;
    for (const h of handles) {
      if (h.done || stopping()) continue;
      if (late) h.heard = Math.max(h.heard, now - every);
      if (now - h.heard > hangMs) h.hung(Math.round((now - h.heard) / 1000));
      else h.worker.postMessage({ t: "ping" } satisfies ToIsolate);
    }
  }, every);
  Deno.unrefTimer(Number(timer));
  return Number(timer); // a number in Deno; @types/node's globals type it as an object
}
