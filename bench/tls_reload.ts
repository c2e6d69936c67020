/**
 * TLS reload under a connection storm: clients open a new TLS connection per request to /healthz while the
 * server gets SIGHUP after SIGHUP (each one binds the new certificate beside the old listener, then closes the
 * old one). Counts the requests that failed. On Linux the kernel resets connections still queued on a closed
 * SO_REUSEPORT listener unless net.ipv4.tcp_migrate_req=1 (per network namespace), so the figure is printed
 * with that setting. Compare: unshare -rn sh -c 'ip link set lo up; echo 1 > /proc/sys/net/ipv4/tcp_migrate_req;
 * deno run -A bench/tls_reload.ts'.
 */
import { startServerProcess } from "../tests/helpers/server.ts";
import { makeCertSet } from "../tests/operations/tls_fixture.ts";

const SWAPS = Number(Deno.env.get("SWAPS") ?? 20);
const CLIENTS = Number(Deno.env.get("CLIENTS") ?? 16);
const ISOLATES = Deno.env.get("DCI_HTTP_ISOLATES") ?? "1";

const dir = await Deno.makeTempDir({ prefix: "dci-tls-bench-" });
const one = await makeCertSet(dir, "one");
const two = await makeCertSet(dir, "two");
const migrate = await Deno.readTextFile("/proc/sys/net/ipv4/tcp_migrate_req").then(
  (s) => s.trim(),
  () => "n/a",
);
const srv = await startServerProcess({
  env: { DCI_TLS_CERT: one.certPath, DCI_TLS_KEY: one.keyPath, DCI_HTTP_ISOLATES: ISOLATES },
});
const url = `https://127.0.0.1:${srv.port}/healthz`;
let ok = 0;
let failed = 0;
const reasons = new Map<string, number>();
let stop = false;
async function client() {
  while (!stop) {
    const c = Deno.createHttpClient({ caCerts: [one.caPem, two.caPem] });
    try {
      const res = await fetch(url, { client: c });
      await res.body?.cancel();
      if (res.status === 200) ok++;
      else failed++;
    } catch (err) {
      failed++;
      const why = String((err as Error).cause ?? err).replace(/https:\/\/\S+/, "URL").slice(0, 120);
      reasons.set(why, (reasons.get(why) ?? 0) + 1);
    } finally {
      c.close();
    }
  }
}
const t0 = performance.now();
const clients = Array.from({ length: CLIENTS }, client);
for (let i = 0; i < SWAPS; i++) {
  await new Promise((r) => setTimeout(r, 150));
  srv.signal("SIGHUP");
}
await new Promise((r) => setTimeout(r, 300));
stop = true;
await Promise.all(clients);
const ms = Math.round(performance.now() - t0);
console.log(JSON.stringify({
  swaps: SWAPS,
  clients: CLIENTS,
  http_isolates: ISOLATES,
  tcp_migrate_req: migrate,
  requests: ok + failed,
  failed,
  failed_pct: Number((100 * failed / Math.max(1, ok + failed)).toFixed(2)),
  wall_ms: ms,
  reasons: Object.fromEntries(reasons),
}));
await srv.stop();
await Deno.remove(dir, { recursive: true });
