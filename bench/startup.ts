/**
 * Cold start on an existing data dir (issue 16 §1: a served `/healthz` < 300 ms): spawns `serve` (from source,
 * or the compiled binary given as BENCH_BIN) several times on a copy of a data dir and reports, per run, the
 * milliseconds from spawn to the first 200 from `/healthz`, and where the time went by the server's own log
 * lines (each line's `ts` against the spawn time).
 *
 * usage: deno run -A bench/startup.ts [DATA_DIR] — without one, a data dir of BENCH_PERSONS (default 10,000;
 * BENCH_QUICK=1: 1,000) demo persons is seeded first. BENCH_RUNS (default 7), DCI_* settings pass through
 * (e.g. DCI_HTTP_ISOLATES=2). The first run also warms the OS file cache; the median is of the others.
 */
import { cli, cpuMs, loadAverage, MAIN } from "./_lib.ts";
import { LOOPBACK_ONLY, RUN_FLAGS } from "../tests/helpers/runtime.ts";

const runs = Number(Deno.env.get("BENCH_RUNS") ?? 7);
const quick = Deno.env.get("BENCH_QUICK") === "1";
const persons = Number(Deno.env.get("BENCH_PERSONS") ?? (quick ? 1_000 : 10_000));
const bin = Deno.env.get("BENCH_BIN");

/** A loopback port free now (bound on port 0 and released), for a server whose port must be known up front. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** The DCI_* settings of this process, passed to the server (DCI_HTTP_ISOLATES=2 and the like). */
function passedSettings(): Record<string, string> {
  return Object.fromEntries(Object.entries(Deno.env.toObject()).filter(([k]) => k.startsWith("DCI_")));
}

/** One cold start: ms to the first /healthz 200, and each log line's offset from the spawn. */
async function coldStart(
  dataDir: string,
): Promise<{ ms: number; cpu: number; lines: Array<[string, number]> }> {
  const port = freePort();
  const args = bin ? ["serve"] : ["run", ...LOOPBACK_ONLY, ...RUN_FLAGS, MAIN, "serve"];
  const env = {
    DCI_LOG_LEVEL: "info",
    DCI_SEED_DEMO: "false",
    ...passedSettings(),
    DCI_PORT: String(port),
    DCI_HOST: "127.0.0.1",
    DCI_DATA_DIR: dataDir,
  };
  const spawned = Date.now();
  const t0 = performance.now();
  const child = new Deno.Command(bin ?? Deno.execPath(), { args, env, stdout: "piped", stderr: "null" })
    .spawn();
  const out = new Response(child.stdout).text();
  let ms = NaN;
  let cpu = NaN;
  for (;;) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      await res.body?.cancel();
      if (res.status === 200) {
        ms = performance.now() - t0;
        cpu = cpuMs(child.pid);
        break;
      }
    } catch { /* not listening yet */ }
    if (performance.now() - t0 > 30_000) break;
    await new Promise((r) => setTimeout(r, 1));
  }
  child.kill("SIGTERM");
  await child.status;
  const lines: Array<[string, number]> = [];
  for (const line of (await out).split("\n")) {
    try {
      const l = JSON.parse(line);
      if (l.msg !== "request") {
        lines.push([l.msg + (l.isolate ? ` (${l.isolate})` : ""), Date.parse(l.ts) - spawned]);
      }
    } catch { /* not a log line */ }
  }
  if (Number.isNaN(ms)) throw new Error(`no /healthz within 30 s: ${await out}`);
  return { ms, cpu, lines };
}

const given = Deno.args[0];
const source = given ?? await Deno.makeTempDir({ prefix: "dci-bench-startup-" });
if (!given) await cli(source, ["registry", "seed", "--demo", String(persons)]);
const work = await Deno.makeTempDir({ prefix: "dci-bench-startup-run-" });
try {
  // The data dir is used as it is found (as after a restart); a copy keeps the given one untouched.
  for (const e of Deno.readDirSync(source)) {
    if (e.isFile) await Deno.copyFile(`${source}/${e.name}`, `${work}/${e.name}`);
  }
  const times: number[] = [];
  const cpus: number[] = [];
  let last: Array<[string, number]> = [];
  for (let i = 0; i < runs; i++) {
    const r = await coldStart(work);
    if (i > 0) times.push(r.ms), cpus.push(r.cpu);
    last = r.lines;
    console.log(
      `run ${i + 1}: ${r.ms.toFixed(0)} ms to a served /healthz, ${r.cpu} ms CPU (all threads)` +
        (i === 0 ? " (warm-up)" : ""),
    );
  }
  times.sort((a, b) => a - b);
  cpus.sort((a, b) => a - b);
  const median = times[times.length >> 1];
  console.log(
    `\ncold start (${bin ? "binary" : "deno run main.ts"}, ${given ?? `${persons} persons`}): ` +
      `median ${median?.toFixed(0)} ms, min ${
        times[0]?.toFixed(0)
      } ms over ${times.length} runs; CPU median ` +
      `${
        cpus[cpus.length >> 1]
      } ms (wall time on a loaded machine is mostly waiting: compare CPU); load ${loadAverage()}`,
  );
  console.log("log lines of the last run (ms after spawn):");
  for (const [msg, at] of last) console.log(`${String(at).padStart(6)}  ${msg}`);
} finally {
  await Deno.remove(work, { recursive: true });
  if (!given) await Deno.remove(source, { recursive: true });
}
