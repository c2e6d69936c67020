/**
 * Shared helpers of the load benchmarks: a seeded data dir, server subprocesses, pre-signed request bodies,
 * and one load generator (wrk with a Lua script, or a Deno fetch generator when wrk is absent).
 */
import { openDatabase } from "../src/db/sqlite.ts";
import { requestEnvelope } from "../tests/helpers/dci.ts";
import { LOOPBACK_ONLY, RUN_FLAGS } from "../tests/helpers/runtime.ts";

const ROOT = new URL("../", import.meta.url);
/** Absolute path of main.ts. */
export const MAIN = new URL("main.ts", ROOT).pathname;
/** The search path the load benchmarks post to. */
export const SEARCH_PATH = "/registry/sync/search";

/** The benchmark sizes from the environment (defaults = issue 7; BENCH_QUICK=1 for a smoke run). */
export function loadSettings(): { quick: boolean; seconds: number; connections: number; persons: number } {
  const quick = Deno.env.get("BENCH_QUICK") === "1";
  const num = (name: string, full: number, fast: number) =>
    Number(Deno.env.get(name) ?? (quick ? fast : full));
  return {
    quick,
    seconds: num("BENCH_SECONDS", 30, 5),
    connections: num("BENCH_CONNECTIONS", 64, 64),
    persons: num("BENCH_PERSONS", 100_000, 10_000),
  };
}

/** The 1-minute load average of the machine (other processes compete for the same cores). */
export function loadAverage(): string {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

/** Resident memory of a process in MB (from /proc/PID/status), or NaN. */
export function rssMb(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${pid}/status`));
    return m ? Number(m[1]) / 1024 : NaN;
  } catch {
    return NaN;
  }
}

/**
 * CPU time a process has used so far (user + system, all its threads) in ms, from /proc/PID/stat, or NaN.
 * Per request, it is the server's cost independent of how busy the machine is (throughput is not).
 */
export function cpuMs(pid: number): number {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    // Fields after the command name (which may hold spaces), 1-based from field 3: utime is 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // clock ticks of 10 ms (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/**
 * CPU time (user + system, ms) of this process's children that have exited and been waited for, from
 * /proc/self/stat (cutime, cstime), or NaN. Around a load generator's run, the difference is that generator's CPU:
 * on the same 2 cores it is CPU the server could not have.
 */
export function childrenCpuMs(): number {
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[13]) + Number(fields[14])) * 10; // cutime is field 16, cstime 17 (USER_HZ 100)
  } catch {
    return NaN;
  }
}

/** Runs `main.ts` with args in `dataDir` (and `env`, e.g. DCI_DATABASE_URL); throws on a non-zero exit. */
export async function cli(
  dataDir: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<string> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...LOOPBACK_ONLY, ...RUN_FLAGS, MAIN, ...args],
    env: { DCI_DATA_DIR: dataDir, DCI_LOG_LEVEL: "error", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (out.code !== 0) throw new Error(`main.ts ${args.join(" ")} failed: ${text}`);
  return text;
}

/** A fresh data dir holding `persons` demo persons, seeded by the project's own CLI (same schema and store). */
export async function seededDataDir(persons: number): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "dci-bench-load-" });
  await cli(dir, ["registry", "seed", "--demo", String(persons)]);
  return dir;
}

/** Up to `n` UIN values present in the data dir's registry. */
export function sampleUins(dataDir: string, n: number): string[] {
  const db = openDatabase(`${dataDir}/dci.sqlite`);
  try {
    return db.prepare("SELECT id_value FROM identifiers WHERE id_type = 'UIN' AND live = 1 LIMIT ?").all(n)
      .map((r) => String((r as { id_value: string }).id_value));
  } finally {
    db.close();
  }
}

/** A running subprocess that serves HTTP. */
export interface Served {
  url: string;
  port: number;
  pid: number;
  child: Deno.ChildProcess;
  stop(): Promise<void>;
}

/** Spawns `args` (deno arguments) and waits for a `"msg":"listening"` log line with the port. */
export async function spawnServer(
  args: string[],
  env: Record<string, string>,
  options: { waitPort?: number } = {},
): Promise<Served> {
  const child = new Deno.Command(Deno.execPath(), { args, env, stdout: "piped", stderr: "piped" }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  let port = 0;
  const errs: string[] = [];
  (async () => {
    for await (const c of child.stderr.pipeThrough(new TextDecoderStream())) errs.push(c);
  })();
  const deadline = Date.now() + 60_000;
  while (!port) {
    const { value, done } = await reader.read();
    if (done || Date.now() > deadline) throw new Error(`server did not start: ${text}${errs.join("")}`);
    text += value;
    const m = /"msg":"listening"[^\n]*"port":(\d+)/.exec(text);
    if (m) port = options.waitPort ?? Number(m[1]);
  }
  // BENCH_SERVER_OUT: a file that keeps the server's output after start-up (e.g. with --v8-flags=--trace-gc).
  const outPath = Deno.env.get("BENCH_SERVER_OUT");
  const out = outPath ? await Deno.open(outPath, { create: true, append: true }) : undefined;
  (async () => {
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      await out?.write(new TextEncoder().encode(r.value));
    }
    out?.close();
  })();
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    pid: child.pid,
    child,
    stop: async () => {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
    },
  };
}

/**
 * BENCH_SERVER_FLAGS: extra deno flags for a benchmark's server or CLI run, after the task's own (a later
 * `--v8-flags` wins, e.g. "--v8-flags=--max-semi-space-size=16" to compare V8's default).
 */
export function benchServerFlags(): string[] {
  return (Deno.env.get("BENCH_SERVER_FLAGS") ?? "").split(" ").filter((f) => f !== "");
}

/** Starts the real `main.ts serve` on a loopback port in `dataDir` (logs at info: the start-up line has the port). */
export function startRealServer(
  dataDir: string,
  env: Record<string, string> = {},
  denoFlags: string[] = [],
): Promise<Served> {
  const extra = benchServerFlags();
  return spawnServer(
    ["run", ...LOOPBACK_ONLY, ...RUN_FLAGS, ...extra, ...denoFlags, MAIN, "serve"],
    {
      DCI_PORT: "0",
      DCI_HOST: "127.0.0.1",
      DCI_DATA_DIR: dataDir,
      DCI_LOG_LEVEL: "info",
      DCI_SEED_DEMO: "false",
      ...env,
    },
  );
}

/** Who signs the load's requests (a TestSender fits). */
export interface BodySigner {
  senderId: string;
  sign<T extends { header: unknown; message: unknown }>(
    envelope: T,
    nowMs?: number,
  ): T & { signature: string };
}

/** One signed idtype-value search envelope as JSON (one line). */
export function searchBody(sender: BodySigner, uin: string, i: number, nowMs: number): string {
  return JSON.stringify(sender.sign(
    requestEnvelope(sender.senderId, {
      transaction_id: `load-${i}`,
      search_request: [{
        reference_id: `r${i}`,
        timestamp: new Date(nowMs).toISOString(),
        search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: uin } },
      }],
    }, { totalCount: 1, nowMs }),
    nowMs,
  ));
}

/**
 * Writes `count` pre-signed bodies (each with a fresh message_id) into `parts` NDJSON files
 * `${prefix}.${k}.ndjson`, one per load-generator thread, so no two threads send the same message_id.
 */
export async function writeBodies(
  sender: BodySigner,
  uins: string[],
  count: number,
  prefix: string,
  parts: number,
): Promise<void> {
  const now = Date.now();
  const enc = new TextEncoder();
  const files = await Promise.all(
    Array.from(
      { length: parts },
      (_, k) => Deno.open(`${prefix}.${k}.ndjson`, { write: true, create: true, truncate: true }),
    ),
  );
  const bufs: string[][] = files.map(() => []);
  for (let i = 0; i < count; i++) {
    const k = i % parts;
    bufs[k].push(searchBody(sender, uins[(i * 7919) % uins.length], i, now));
    if (bufs[k].length === 2000) {
      await files[k].write(enc.encode(bufs[k].join("\n") + "\n"));
      bufs[k] = [];
    }
  }
  for (let k = 0; k < parts; k++) {
    if (bufs[k].length) await files[k].write(enc.encode(bufs[k].join("\n") + "\n"));
    files[k].close();
  }
}

/** What one load run measured. */
export interface LoadResult {
  generator: "wrk" | "fetch";
  requests: number;
  seconds: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Non-2xx answers plus socket errors and timeouts. */
  errors: number;
  loadavg: string;
  /** CPU the server used per answered request (ms, all its threads), when the caller measured it. */
  cpuMsPerRequest?: number;
  /** CPU the load generator used (wrk or the fetch generator, all threads), in ms per second of the run. */
  generatorCpuMsPerSecond: number;
}

/** Whether wrk is installed. */
export function hasWrk(): boolean {
  if (Deno.env.get("BENCH_GENERATOR") === "fetch") return false;
  try {
    return new Deno.Command("wrk", { args: ["--version"], stdout: "null", stderr: "null" }).outputSync() !==
      null;
  } catch {
    return false;
  }
}

/** Load-generator threads: wrk threads (or fetch generator processes); one body file each. */
export const GENERATOR_THREADS = 2;

/**
 * Load-generator threads (and body files) for `targets` server URLs: GENERATOR_THREADS for one; for several, a
 * multiple of their count, since wrk sends all of a thread's connections to one address (thread k to target
 * k mod N); the fetch generator assigns its connections round-robin.
 */
export function generatorThreads(targets: number): number {
  return targets <= 1 ? GENERATOR_THREADS : Math.ceil(GENERATOR_THREADS / targets) * targets;
}

/** The wrk script; `addrs` (host, port) pairs: thread k connects to pair k mod N (none: wrk's target URL). */
const lua = (addrs: Array<[string, string]>) => `
local addrs = { ${addrs.map(([h, p]) => `{ "${h}", "${p}" }`).join(", ")} }
local counter = 0
function setup(thread)
  thread:set("id", counter)
  if #addrs > 0 then
    local a = addrs[counter % #addrs + 1]
    thread.addr = wrk.lookup(a[1], a[2])[1]
  end
  counter = counter + 1
end
local f
function init(args)
  f = io.open(args[1] .. "." .. id .. ".ndjson", "r")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = args[2]
end
function request()
  local line = f:read("*l")
  if not line then
    f:seek("set", 0)
    line = f:read("*l")
  end
  return wrk.format(nil, nil, nil, line)
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format('WRKJSON {"requests":%d,"duration_us":%d,"sock":%d,"status":%d,"timeout":%d,"p50":%d,"p99":%d}\\n',
    summary.requests, summary.duration, e.connect + e.read + e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
`;

/**
 * Runs the load generator against `url + path` with the bodies under `prefix` (`generatorThreads(n)` files for
 * n URLs); with several URLs (instances of one server), connections are spread over them round-robin.
 */
export async function runLoad(opts: {
  url: string | string[];
  path?: string;
  authorization: string;
  prefix: string;
  connections: number;
  seconds: number;
}): Promise<LoadResult> {
  const urls = typeof opts.url === "string" ? [opts.url] : opts.url;
  const targets = urls.map((u) => u + (opts.path ?? SEARCH_PATH));
  const threads = generatorThreads(urls.length);
  const loadavg = loadAverage();
  const childCpuBefore = childrenCpuMs();
  if (hasWrk()) {
    const script = `${opts.prefix}.lua`;
    const addrs = urls.length > 1
      ? urls.map((u): [string, string] => [new URL(u).hostname, new URL(u).port])
      : [];
    await Deno.writeTextFile(script, lua(addrs));
    const out = await new Deno.Command("wrk", {
      args: [
        "-t",
        String(threads),
        "-c",
        String(opts.connections),
        "-d",
        `${opts.seconds}s`,
        "--timeout",
        "10s",
        "-s",
        script,
        targets[0],
        "--",
        opts.prefix,
        opts.authorization,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    const m = /WRKJSON (\{.*\})/.exec(text);
    if (!m) throw new Error(`wrk failed: ${text} ${new TextDecoder().decode(out.stderr)}`);
    const r = JSON.parse(m[1]);
    const seconds = r.duration_us / 1e6;
    return {
      generator: "wrk",
      generatorCpuMsPerSecond: (childrenCpuMs() - childCpuBefore) / seconds,
      requests: r.requests,
      seconds,
      rps: r.requests / seconds,
      p50Ms: r.p50 / 1000,
      p99Ms: r.p99 / 1000,
      errors: r.sock + r.status + r.timeout,
      loadavg,
    };
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL("_fetchgen.ts", import.meta.url).pathname],
    env: {
      GEN_URL: targets.join(","),
      GEN_AUTH: opts.authorization,
      GEN_PREFIX: opts.prefix,
      GEN_PARTS: String(threads),
      GEN_CONNECTIONS: String(opts.connections),
      GEN_SECONDS: String(opts.seconds),
    },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const r = JSON.parse(new TextDecoder().decode(out.stdout));
  return {
    generator: "fetch",
    ...r,
    loadavg,
    generatorCpuMsPerSecond: (childrenCpuMs() - childCpuBefore) / r.seconds,
  };
}

/** Formats a number with a fixed count of decimals. */
export function fmt(n: number, digits = 0): string {
  return Number.isFinite(n) ? n.toFixed(digits) : "n/a";
}

/** Prints rows as an aligned table. */
export function printTable(title: string, rows: Array<Record<string, string>>): void {
  console.log(title);
  const cols = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const width = cols.map((c) => Math.max(c.length, ...rows.map((r) => (r[c] ?? "").length)));
  const line = (cells: string[]) => "  " + cells.map((c, i) => c.padEnd(width[i])).join("  ");
  console.log(line(cols));
  console.log(line(width.map((w) => "-".repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => r[c] ?? "")));
}

/** One row of bench/abuse.ts: a measure on an idle server beside the same under abuse, and its target. */
export interface AbuseRow {
  measure: string;
  target: string;
  idle: number;
  abused: number;
  unit: string;
  met: boolean;
  note?: string;
}
