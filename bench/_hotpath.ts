/**
 * CPU cost of one signed sync search through the whole app (createApp(deps).request, no socket), on a copy of
 * a seeded registry: the figure each hot-path change is measured by (less noisy than a socket load test).
 *   deno run -A bench/_hotpath.ts SEEDED_DATA_DIR [N]   (HOTPATH_CONCURRENCY: requests at once, default 1)
 */
import { testConfig } from "../src/config.ts";
import { closeDeps, openSqliteDeps } from "../src/deps.ts";
import { silentLogger } from "../src/obs/log.ts";
import { createApp } from "../src/app.ts";
import { createTestSender } from "../tests/helpers/auth.ts";
import { sampleUins, searchBody } from "./_lib.ts";
import process from "node:process";

const src = Deno.args[0];
const n = Number(Deno.args[1] ?? 3000);
/** HOTPATH_CONCURRENCY: requests in flight at once (default 1); 32 or so batches admissions as a load does. */
const concurrency = Number(Deno.env.get("HOTPATH_CONCURRENCY") ?? 1);
const dir = await Deno.makeTempDir({ prefix: "dci-hotpath-" });
await Deno.copyFile(`${src}/dci.sqlite`, `${dir}/dci.sqlite`);
const deps = await openSqliteDeps(testConfig({ dataDir: dir, logLevel: "info" }), { log: silentLogger });
try {
  // An experiment hook: extra pragmas on the server connection (e.g. "PRAGMA mmap_size = 268435456").
  if (Deno.env.get("HOTPATH_PRAGMA")) deps.db.exec(Deno.env.get("HOTPATH_PRAGMA")!);
  const sender = await createTestSender(deps, { limit_minute: 10_000_000, limit_day: 1_000_000_000 });
  const app = createApp(deps);
  const uins = sampleUins(dir, 2000);
  const bodies = Array.from(
    { length: n + 500 },
    (_, i) => searchBody(sender, uins[i % uins.length], i, Date.now()),
  );
  // Each with a declared length, as an HTTP client sends: the body is then read as served, not through the
  // idle watch's stream (src/http/middleware.ts, watchBodyIdle).
  const headers = bodies.map((body) => ({
    "content-type": "application/json",
    "content-length": String(new TextEncoder().encode(body).byteLength),
    ...sender.headers(),
  }));
  const run = async (from: number, to: number) => {
    const t0 = performance.now();
    const c0 = process.cpuUsage();
    const one = async (i: number) => {
      const res = await app.request("/registry/sync/search", {
        method: "POST",
        headers: headers[i],
        body: bodies[i],
      });
      if (res.status !== 200) throw new Error(`${res.status} ${await res.text()}`);
      await res.arrayBuffer();
    };
    for (let i = from; i < to; i += concurrency) {
      await Promise.all(Array.from({ length: Math.min(concurrency, to - i) }, (_, k) => one(i + k)));
    }
    const c = process.cpuUsage(c0);
    return { wall: (performance.now() - t0) / (to - from), cpu: (c.user + c.system) / 1000 / (to - from) };
  };
  await run(0, 500);
  const { wall, cpu } = await run(500, 500 + n);
  const la = Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  console.log(
    `signed sync search through the app: ${(wall * 1000).toFixed(0)} µs/request wall, ${
      (cpu * 1000).toFixed(0)
    } µs CPU (n=${n}, ${concurrency} at once, loadavg ${la})`,
  );
} finally {
  closeDeps(deps);
  await Deno.remove(dir, { recursive: true });
}
