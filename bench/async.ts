/**
 * Async search benchmark: N signed async searches against the real server (worker on), ACK latency
 * percentiles, and the time until a loopback receiver has collected all N callbacks.
 *
 *   deno run -A bench/async.ts                       # quick: 1,000 searches
 *   BENCH_ASYNC_N=10000 deno run -A bench/async.ts   # the size (target: ACK p99 < 25 ms, all in 60 s)
 *
 * Env: BENCH_ASYNC_N (default 1000), BENCH_ASYNC_CONCURRENCY (client connections, default 16),
 * BENCH_ASYNC_TIMEOUT_S (give up waiting for callbacks, default 120), BENCH_ASYNC_ISOLATES (DCI_HTTP_ISOLATES
 * of the server; default: the server's own default). The load average is printed with the figures: other
 * work on the machine moves them a lot.
 */
import { startServerProcess } from "../tests/helpers/server.ts";
import { benchServerFlags } from "./_lib.ts";
import { createServerSender } from "../tests/helpers/auth.ts";
import { requestEnvelope } from "../tests/helpers/dci.ts";

const N = Number(Deno.env.get("BENCH_ASYNC_N") ?? 1000);
const CONCURRENCY = Number(Deno.env.get("BENCH_ASYNC_CONCURRENCY") ?? 16);
const TIMEOUT_S = Number(Deno.env.get("BENCH_ASYNC_TIMEOUT_S") ?? 120);
const ISOLATES = Deno.env.get("BENCH_ASYNC_ISOLATES");

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}

async function main(): Promise<void> {
  // The receiver runs in its own isolate: see bench/_callback_receiver.ts.
  const receiver = new Worker(new URL("./_callback_receiver.ts", import.meta.url), { type: "module" });
  let report: (r: { count: number; lastAt: number }) => void = () => {};
  const receiverPort = await new Promise<number>((resolve) => {
    receiver.onmessage = (e) => {
      if (e.data.t === "port") resolve(e.data.port);
      else report(e.data);
    };
    receiver.postMessage({ t: "start", expected: N });
  });
  const server = await startServerProcess({
    denoFlags: benchServerFlags(),
    env: {
      DCI_WORKER: Deno.env.get("BENCH_ASYNC_WORKER") ?? "true",
      DCI_OUTBOUND_ALLOW: "127.0.0.1",
      DCI_LOG_LEVEL: "info", // "listening" is an info line; access logs stay on as in production
      DCI_RATE_LIMIT_MINUTE: "10000000",
      DCI_RATE_LIMIT_DAY: "1000000000",
      DCI_SEED_DEMO: "true",
      DCI_DEMO_SIZE: "1000",
      ...(ISOLATES === undefined ? {} : { DCI_HTTP_ISOLATES: ISOLATES }),
      ...(Deno.env.get("DCI_OUTBOUND_TIMEOUT_MS")
        ? { DCI_OUTBOUND_TIMEOUT_MS: Deno.env.get("DCI_OUTBOUND_TIMEOUT_MS")! }
        : {}),
    },
  });
  try {
    const sender = await createServerSender(server);
    const url = `${server.url}/registry/search`;
    const senderUri = `http://127.0.0.1:${receiverPort}/cb`;
    // Signed before the clock starts, so the client's signing does not count against the server.
    const bodies = Array.from(
      { length: N },
      (_, i) =>
        JSON.stringify(sender.sign(requestEnvelope(sender.senderId, {
          transaction_id: `bench-${i}`,
          search_request: [{
            reference_id: `r-${i}`,
            timestamp: new Date().toISOString(),
            search_criteria: {
              reg_type: "ns:org:RegistryType:Social",
              query_type: "predicate",
              query: [{
                seq_num: 1,
                expression1: {
                  attribute_name: "sex",
                  operator: "eq",
                  attribute_value: i % 2 ? "male" : "female",
                },
              }],
              pagination: { page_size: 10, page_number: 1 },
            },
          }],
        }, { totalCount: 1, header: { sender_uri: senderUri } }))),
    );
    const headers = { "content-type": "application/json", ...sender.headers() };
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    let next = 0;
    const started = performance.now();
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next < N) {
        const body = bodies[next++];
        const t0 = performance.now();
        const res = await fetch(url, { method: "POST", headers, body });
        await res.arrayBuffer();
        latencies.push(performance.now() - t0);
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      }
    }));
    const acceptedIn = performance.now() - started;
    const loadAtAccept = Deno.loadavg();
    const startedAt = performance.timeOrigin + started;
    const final = await new Promise<{ count: number; lastAt: number }>((resolve) => {
      const timer = setTimeout(() => receiver.postMessage({ t: "report" }), TIMEOUT_S * 1000);
      report = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
    });
    const totalS = (final.lastAt - startedAt) / 1000;
    const metrics = await (await fetch(`${server.url}/metrics`)).text();
    const meanMs = (name: string) => {
      const sum = [...metrics.matchAll(new RegExp(`^${name}_sum\\{[^}]*\\} (\\S+)$`, "gm"))]
        .reduce((a, m) => a + Number(m[1]), 0);
      const count = [...metrics.matchAll(new RegExp(`^${name}_count\\{[^}]*\\} (\\S+)$`, "gm"))]
        .reduce((a, m) => a + Number(m[1]), 0);
      return count ? (sum / count * 1000).toFixed(2) : "n/a";
    };
    latencies.sort((a, b) => a - b);
    // Time inside the server (access log `ms`): the rest of the ACK latency is queueing and the client.
    const inServer = server.logs.filter((l) => l.msg === "request" && l.path === "/registry/search")
      .map((l) => Number(l.ms)).sort((a, b) => a - b);
    const listening = server.logs.find((l) => l.msg === "listening");
    const rows: Array<[string, string]> = [
      ["async searches sent", String(N)],
      ["HTTP isolates", String(listening?.http_isolates ?? 0)],
      ["load average 1/5/15 (after accepts)", loadAtAccept.map((x) => x.toFixed(2)).join(" ")],
      ["client concurrency", String(CONCURRENCY)],
      ["HTTP statuses", [...statuses].map(([s, n]) => `${s}×${n}`).join(" ")],
      ["ACK latency p50 (ms)", percentile(latencies, 50).toFixed(2)],
      ["ACK latency p95 (ms)", percentile(latencies, 95).toFixed(2)],
      ["ACK latency p99 (ms)", percentile(latencies, 99).toFixed(2)],
      ["ACK latency max (ms)", latencies[latencies.length - 1].toFixed(2)],
      [
        "in-server p50 / p99 (ms)",
        `${percentile(inServer, 50)?.toFixed(2)} / ${percentile(inServer, 99)?.toFixed(2)}`,
      ],
      ["accept throughput (req/s)", (N / (acceptedIn / 1000)).toFixed(0)],
      ["callbacks collected", `${final.count} / ${N}`],
      ["first request → last callback (s)", totalS.toFixed(2)],
      ["end-to-end throughput (txn/s)", (final.count / totalS).toFixed(0)],
      [
        "callback attempts failed, retry pending",
        String(
          [...metrics.matchAll(/^dci_txn_callbacks_total\{[^}]*outcome="retry"[^}]*\} (\S+)$/gm)]
            .reduce((a, m) => a + Number(m[1]), 0),
        ),
      ],
      [
        "worker: mean processing / callback attempt (ms)",
        `${meanMs("dci_txn_processing_seconds")} / ${meanMs("dci_txn_callback_seconds")}`,
      ],
    ];
    const width = Math.max(...rows.map(([k]) => k.length));
    console.log(`\nbench/async.ts — async search, ACK and callbacks (loopback receiver)\n`);
    for (const [k, v] of rows) console.log(`${k.padEnd(width)}  ${v}`);
    const retryErrors = new Map<string, number>();
    for (const l of server.logs) {
      if (l.msg === "callback retry scheduled") {
        const e = String(l.error ?? "?");
        retryErrors.set(e, (retryErrors.get(e) ?? 0) + 1);
      }
    }
    for (const [e, n] of retryErrors) console.log(`callback retry reason: ${n} × ${e}`);
  } finally {
    await server.stop();
    receiver.terminate();
    const { DatabaseSync } = await import("node:sqlite");
    const db = new DatabaseSync(`${server.dataDir}/dci.sqlite`);
    const retried = db.prepare(
      "SELECT last_error AS error, COUNT(*) AS n FROM transactions WHERE attempts > 1 GROUP BY last_error",
    ).all() as Array<{ error: string | null; n: number }>;
    for (const r of retried) console.log(`retried callbacks: ${r.n} × ${r.error ?? "(no error kept)"}`);
    db.close();
    await Deno.remove(server.dataDir, { recursive: true }).catch(() => {});
  }
}

if (import.meta.main) await main();
