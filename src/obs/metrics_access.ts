/**
 * Who may read /metrics: with DCI_METRICS_TOKEN set, only a request bearing that token (compared in constant
 * time); with DCI_METRICS_LISTEN set, /metrics leaves the main port for a listener of its own (e.g. a private
 * interface only the monitoring system reaches), served by the isolate that binds the main port first.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Deps } from "../deps.ts";
import { keepListening } from "../net/kept_listener.ts";
import { explainBindError } from "../net/port_guard.ts";
import { DENO_VERSION, VERSION } from "../version.ts";

/** The Prometheus text exposition content type. */
export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();

/** True when no metrics token is configured, or `authorization` is `Bearer <that token>` (scheme in any case). */
export function metricsAuthorized(deps: Deps, authorization: string | undefined): boolean {
  const expected = deps.config.metricsToken;
  if (!expected) return true;
  // The scheme in any case (RFC 9110 §11.1); the token exactly.
  const m = /^Bearer (.{1,4096})$/i.exec(authorization ?? "");
  // Digests of both sides: equal lengths whatever was sent, so the comparison time says nothing about the token.
  return m !== null && timingSafeEqual(digest(m[1]), digest(expected));
}

/** Registers the process-wide gauges /metrics reports, once per isolate's registry. */
export function registerProcessGauges(deps: Deps): void {
  deps.metrics.gauge(
    "process_resident_memory_bytes",
    "Resident memory of the whole server process (every isolate)",
    () => [{ labels: {}, value: Deno.memoryUsage().rss }],
  );
  deps.metrics.gauge(
    "dci_build_info",
    "The running build: its version and the Deno version (always 1)",
    () => [{ labels: { version: VERSION, deno: DENO_VERSION }, value: 1 }],
  );
}

/** A running metrics listener. */
export interface MetricsListener {
  port: number;
  shutdown(): Promise<void>;
}

/** Serves GET /metrics (and nothing else) on DCI_METRICS_LISTEN; the bind error names a taken port. */
export function startMetricsListener(deps: Deps): MetricsListener {
  const listen = deps.config.metricsListen;
  const colon = listen.lastIndexOf(":");
  const hostname = listen.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  const port = Number(listen.slice(colon + 1));
  const headers = { "x-content-type-options": "nosniff", "cache-control": "no-store" };
  const bind = (bindPort = port) =>
    Deno.serve({
      hostname,
      port: bindPort,
      onListen: (addr) => deps.log.info("metrics listening", { hostname: addr.hostname, port: addr.port }),
    }, async (req) => {
      if (new URL(req.url).pathname !== "/metrics" || req.method !== "GET") {
        return new Response("Not found\n", { status: 404, headers });
      }
      if (!metricsAuthorized(deps, req.headers.get("authorization") ?? undefined)) {
        return new Response("A metrics bearer token is required\n", {
          status: 401,
          headers: { ...headers, "www-authenticate": 'Bearer realm="metrics"' },
        });
      }
      const body = await deps.metrics.renderAll();
      return new Response(body, { headers: { ...headers, "content-type": METRICS_CONTENT_TYPE } });
    });
  let first: Deno.HttpServer<Deno.NetAddr>;
  try {
    first = bind();
  } catch (err) {
    throw explainBindError(err, hostname, port);
  }
  // Closed on its own (EMFILE): bound again like the API's listener; given up, the API goes on without it.
  const kept = keepListening(first, {
    bind: () => bind(first.addr.port),
    log: deps.log,
    hostname,
    port: first.addr.port,
    what: "metrics listener",
  });
  kept.finished.catch((err) => deps.log.error("metrics listener lost", { err }));
  return {
    port: first.addr.port,
    shutdown: () => {
      kept.stop();
      return kept.shutdownAll();
    },
  };
}
