/**
 * Load (issue 7 item 2): the real server (`main.ts serve`, fresh data dir, seeded registry) under signed sync
 * search — bearer token + Ed25519 envelope signature, idtype-value, signed response, a fresh message_id per
 * request — at 64 connections for 30 s, next to the ceiling (bench/ceiling.ts) measured the same way.
 *
 *   deno run -A bench/load.ts                 # 100,000 persons, 64 connections, 30 s per run
 *   BENCH_QUICK=1 deno run -A bench/load.ts   # 10,000 persons, 5 s per run
 * Env: BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_PERSONS, BENCH_SEED_DIR (copy dci.sqlite from an already seeded
 * data dir instead of seeding), BENCH_PROFILE=DIR (V8 CPU profiles of the one-isolate server run, and of the
 * one-instance run on PostgreSQL, there; served as always from its HTTP isolate: `CPU.*.worker-1.cpuprofile` is
 * the HTTP isolate, where the requests run, `CPU.*.cpuprofile` the main isolate; a worker's file is now and then
 * left empty or not written when the process exits: run again, or on PostgreSQL set DCI_HTTP_ISOLATES=0 to serve
 * from the main isolate, whose profile is always written; the one-isolate ceiling's in DIR/ceiling, to read side
 * by side with `bench/_profile_top.ts FILE N --per REQUESTS`),
 * BENCH_GENERATOR=fetch (force the fetch generator), BENCH_SKIP_CEILING=1, BENCH_ROUNDS=N (SQLite: N rounds of
 * the four runs, each server run right after its ceiling's; the table shows each figure's median over the rounds
 * and the ratios of every round: this machine's speed drifts by a tenth or more within minutes).
 *
 * PostgreSQL (issue 17): BENCH_PG_URL is an admin URL of a cluster; the bench creates a fresh database on it
 * (UTF8, C locale), seeds it with the CLI, runs BENCH_INSTANCES instances of the server on it (each its own data
 * dir, one HTTP isolate), spreads the connections over them round-robin (no proxy: it would take the cores),
 * reports the instances' CPU summed and PostgreSQL's (its processes on this machine, from /proc), drops the
 * database at the end. The ceiling rows are measured on an SQLite copy of the same demo registry.
 *   BENCH_PG_URL=postgres://USER:PASSWORD@127.0.0.1:5432/postgres deno run -A bench/load.ts   # 1 instance
 *   BENCH_PG_URL=… BENCH_INSTANCES=3 deno run -A bench/load.ts                                # 3 instances
 *   BENCH_PG_URL=… BENCH_INSTANCES=1,3 deno run -A bench/load.ts                              # both, one seed
 *   BENCH_PG_URL=… BENCH_INSTANCES=1,3 BENCH_QUICK=1 BENCH_SKIP_CEILING=1 deno run -A bench/load.ts  # smoke run
 * Targets: server ≥ 0.5 of the one-isolate ceiling from one isolate (and of the two-isolate ceiling on two),
 * p99 < 50 ms, 0 errors.
 */
import { createServerSender, type TestSender } from "../tests/helpers/auth.ts";
import {
  fmt,
  loadAverage,
  type LoadResult,
  loadSettings,
  printTable,
  sampleUins,
  seededDataDir,
  startRealServer,
} from "./_lib.ts";
import { localSender, measureCeiling, resultRow } from "./ceiling.ts";
import { measureServers } from "./_load_run.ts";
import { postgresColumns, runPostgresLoad } from "./_load_pg.ts";

const s = loadSettings();
const seedFrom = Deno.env.get("BENCH_SEED_DIR");
const profileDir = Deno.env.get("BENCH_PROFILE");
const skipCeiling = Deno.env.get("BENCH_SKIP_CEILING") === "1";
const rounds = Number(Deno.env.get("BENCH_ROUNDS") ?? 1);
if (!Number.isInteger(rounds) || rounds < 1) {
  throw new Error("BENCH_ROUNDS: a whole number of rounds, 1 or more");
}

async function freshDataDir(): Promise<string> {
  if (!seedFrom) return await seededDataDir(s.persons);
  const dir = await Deno.makeTempDir({ prefix: "dci-bench-load-" });
  await Deno.copyFile(`${seedFrom}/dci.sqlite`, `${dir}/dci.sqlite`);
  return dir;
}

/** The server's setting for HTTP isolates, if this build has one (another area adds it). */
async function isolatesSetting(): Promise<string | undefined> {
  const text = await Deno.readTextFile(new URL("../src/config.ts", import.meta.url));
  return /env: "(DCI_HTTP_ISOLATES)"/.exec(text)?.[1];
}

/**
 * The flags of a profiled run (BENCH_PROFILE): --cpu-prof profiles every isolate, the HTTP isolate (a Web Worker)
 * included, so the run measured is the one served.
 */
function profileFlags(sub = ""): string[] {
  return profileDir === undefined
    ? []
    : ["--cpu-prof", `--cpu-prof-dir=${profileDir}${sub ? `/${sub}` : ""}`];
}

async function serverRun(
  dataDir: string,
  sender: TestSender,
  uins: string[],
  opts: {
    isolates: number;
    expectRps: number;
    workDir: string;
    env?: Record<string, string>;
    flags: string[];
  },
): Promise<LoadResult> {
  const server = await startRealServer(dataDir, opts.env, opts.flags);
  try {
    return await measureServers([server], sender, uins, {
      expectRps: opts.expectRps,
      seconds: s.seconds,
      connections: s.connections,
      prefix: `${opts.workDir}/server-${opts.isolates}`,
    });
  } finally {
    await server.stop();
  }
}

/** One round of the SQLite mode: each server run beside the ceiling measured just before it. */
interface Round {
  ceil1?: LoadResult;
  one: LoadResult;
  ceil2?: LoadResult;
  two?: LoadResult;
}

/** A round's ratios to its own ceilings, for the progress lines of BENCH_ROUNDS. */
function roundRatios(r: Round): string {
  const pair = (server: LoadResult | undefined, ceiling: LoadResult | undefined) =>
    server && ceiling
      ? `${fmt(server.rps)} / ${fmt(ceiling.rps)} req/s = ${fmt(server.rps / ceiling.rps, 2)}`
      : "?";
  return `1 isolate ${pair(r.one, r.ceil1)}; 2 isolates ${pair(r.two, r.ceil2)}`;
}

/** The median of `xs` (not empty): the middle value, or the mean of the two middle ones. */
function median(xs: number[]): number {
  const sorted = xs.toSorted((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
}

/**
 * The median of each figure of `results` (one per round; undefined when none was measured): a row of medians,
 * not one round's row. Errors and requests are the rounds' sums.
 */
function medianOf(results: Array<LoadResult | undefined>): LoadResult | undefined {
  const all = results.filter((r): r is LoadResult => r !== undefined);
  if (all.length === 0) return undefined;
  if (all.length === 1) return all[0];
  const mid = (pick: (r: LoadResult) => number | undefined) => {
    const xs = all.map(pick).filter((x): x is number => x !== undefined);
    return xs.length === 0 ? undefined : median(xs);
  };
  return {
    ...all[all.length - 1],
    requests: all.reduce((a, r) => a + r.requests, 0),
    errors: all.reduce((a, r) => a + r.errors, 0),
    rps: mid((r) => r.rps)!,
    p50Ms: mid((r) => r.p50Ms)!,
    p99Ms: mid((r) => r.p99Ms)!,
    cpuMsPerRequest: mid((r) => r.cpuMsPerRequest),
    generatorCpuMsPerSecond: mid((r) => r.generatorCpuMsPerSecond)!,
  };
}

async function sqliteMode(): Promise<void> {
  const dataDir = await freshDataDir();
  try {
    const uins = sampleUins(dataDir, 5000);
    const env = { DCI_RATE_LIMIT_MINUTE: "10000000", DCI_RATE_LIMIT_DAY: "1000000000" };
    const first = await startRealServer(dataDir, env);
    let sender: TestSender;
    try {
      sender = await createServerSender({ url: first.url, dataDir }, {
        limit_minute: 10_000_000,
        limit_day: 1_000_000_000,
      });
    } finally {
      await first.stop();
    }
    // The ceiling's requests carry the server's token too, so both read requests of the same size.
    const base = {
      dataDir,
      sender,
      uins,
      authorization: `Bearer ${sender.token}`,
      connections: s.connections,
      seconds: s.seconds,
      workDir,
    };
    const isoEnv = await isolatesSetting();
    const runs: Round[] = [];
    for (let round = 0; round < rounds; round++) {
      // Profiled (BENCH_PROFILE): the first round's one-isolate runs.
      const profiled = round === 0;
      const ceil1 = skipCeiling ? undefined : await measureCeiling({
        ...base,
        isolates: 1,
        flags: profiled ? profileFlags("ceiling") : [],
      });
      const one = await serverRun(dataDir, sender, uins, {
        isolates: 1,
        expectRps: ceil1?.rps ?? 6000,
        workDir,
        env,
        flags: profiled ? profileFlags() : [],
      });
      const ceil2 = skipCeiling ? undefined : await measureCeiling({ ...base, isolates: 2 });
      const two = isoEnv
        ? await serverRun(dataDir, sender, uins, {
          isolates: 2,
          expectRps: ceil2?.rps ?? 12000,
          workDir,
          env: { ...env, [isoEnv]: "2" },
          flags: [],
        })
        : undefined;
      runs.push({ ceil1, one, ceil2, two });
      if (rounds > 1) console.log(`  round ${round + 1}: ${roundRatios(runs[round])}`);
    }
    const ceil1 = medianOf(runs.map((r) => r.ceil1));
    const ceil2 = medianOf(runs.map((r) => r.ceil2));
    const one = medianOf(runs.map((r) => r.one))!;
    const two = medianOf(runs.map((r) => r.two));
    const rows = [];
    const ofRounds = rounds > 1 ? ` (median of ${rounds})` : "";
    if (ceil1) rows.push(resultRow(`ceiling, 1 isolate${ofRounds}`, ceil1));
    if (ceil2) rows.push(resultRow(`ceiling, 2 isolates${ofRounds}`, ceil2, ceil1));
    rows.push(resultRow(`server, 1 isolate (ratio to ceiling 1)${ofRounds}`, one, ceil1));
    if (two) rows.push(resultRow(`server, 2 isolates (ratio to ceiling 2)${ofRounds}`, two, ceil2));
    printTable(
      `load: signed sync search, idtype-value, ${s.persons} persons, ${s.connections} connections, ` +
        `${s.seconds} s per run, generator ${one.generator}, 2 cores shared with the generator`,
      rows,
    );
    const ratios = (pick: (r: Round) => number | undefined) => {
      const each = runs.map(pick);
      if (each.some((x) => x === undefined)) return "?";
      const mid = fmt(median(each as number[]), 2);
      return rounds > 1 ? `${mid} (rounds: ${each.map((x) => fmt(x!, 2)).join(", ")})` : mid;
    };
    const verdict = [
      `server 1 isolate: ${ratios((r) => r.ceil1 && r.one.rps / r.ceil1.rps)} of the ceiling (target ≥ 0.5)`,
      `p99 ${fmt(one.p99Ms, 1)} ms (target < 50)`,
      `errors ${one.errors + (two?.errors ?? 0)} (target 0)`,
    ];
    if (two) {
      verdict.push(
        `server 2 isolates: ${
          ratios((r) => r.ceil2 && r.two && r.two.rps / r.ceil2.rps)
        } of the 2-isolate ceiling`,
      );
    } else verdict.push("2-isolate server run skipped: no DCI_HTTP_ISOLATES setting in src/config.ts");
    console.log("  " + verdict.join("; "));
    console.log(`  load average at the end: ${loadAverage()}`);
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
}

/** BENCH_PG_URL: the ceiling (on an SQLite copy of the same demo registry) beside N instances on PostgreSQL. */
async function postgresMode(adminUrl: string): Promise<void> {
  const instanceCounts = (Deno.env.get("BENCH_INSTANCES") ?? "1").split(",").map(Number);
  if (instanceCounts.some((n) => !Number.isInteger(n) || n < 1)) {
    throw new Error("BENCH_INSTANCES: a count of instances, or several separated by commas (1,3)");
  }
  let ceil1: LoadResult | undefined;
  let ceil2: LoadResult | undefined;
  if (!skipCeiling) {
    const dataDir = await freshDataDir();
    try {
      const base = {
        dataDir,
        sender: localSender(),
        uins: sampleUins(dataDir, 5000),
        connections: s.connections,
        seconds: s.seconds,
        workDir,
      };
      ceil1 = await measureCeiling({ ...base, isolates: 1 });
      ceil2 = await measureCeiling({ ...base, isolates: 2 });
    } finally {
      await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    }
  }
  const pg = await runPostgresLoad(adminUrl, {
    persons: s.persons,
    instanceCounts,
    seconds: s.seconds,
    connections: s.connections,
    expectRps: ceil2?.rps ?? 6000,
    workDir,
    serverEnv: { DCI_RATE_LIMIT_MINUTE: "10000000", DCI_RATE_LIMIT_DAY: "1000000000" },
    oneInstanceFlags: profileFlags(),
  });
  const rows = [];
  if (ceil1) rows.push(resultRow("ceiling, 1 isolate", ceil1));
  if (ceil2) rows.push(resultRow("ceiling, 2 isolates", ceil2, ceil1));
  for (const { instances, result } of pg.runs) {
    const name = `postgres, ${instances} instance${instances === 1 ? "" : "s"}`;
    rows.push({ ...resultRow(name, result, instances === 1 ? ceil1 : ceil2), ...postgresColumns(result) });
  }
  printTable(
    `load on PostgreSQL: signed sync search, idtype-value, ${s.persons} persons, ${s.connections} connections ` +
      `spread round-robin over the instances (1 HTTP isolate each), ${s.seconds} s per run, generator ` +
      `${pg.runs[0].result.generator}, 2 cores shared by the generator, the instances and PostgreSQL`,
    rows,
  );
  console.log(
    "  ratios: 1 instance to the 1-isolate ceiling, several to the 2-isolate ceiling; server CPU: the " +
      "instances summed; postgres CPU: " +
      (pg.clusterFound
        ? "the whole cluster (postmaster and every child), and this bench's database's backends alone"
        : "n/a (the cluster's processes are not on this machine)"),
  );
  console.log(`  load average at the end: ${loadAverage()}`);
}

const workDir = await Deno.makeTempDir({ prefix: "dci-bench-load-work-" });
try {
  const pgUrl = Deno.env.get("BENCH_PG_URL");
  if (pgUrl) await postgresMode(pgUrl);
  else await sqliteMode();
} finally {
  await Deno.remove(workDir, { recursive: true }).catch(() => {});
}
