/**
 * Load (issue 7 item 2): the real server (`main.ts serve`, fresh data dir, seeded registry) under signed sync
 * search — bearer token + Ed25519 envelope signature, idtype-value, signed response, a fresh message_id per
 * request — at 64 connections for 30 s, next to the ceiling (bench/ceiling.ts) measured the same way.
 *
 *   deno run -A bench/load.ts                 # 100,000 persons, 64 connections, 30 s per run
 *   BENCH_QUICK=1 deno run -A bench/load.ts   # 10,000 persons, 5 s per run
 * Env: BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_PERSONS, BENCH_SEED_DIR (copy dci.sqlite from an already seeded
 * data dir instead of seeding), BENCH_PROFILE=DIR (V8 CPU profiles of the one-isolate server run there, served
 * as always from its HTTP isolate: `CPU.*.worker-1.cpuprofile` is the HTTP isolate, where the requests run,
 * `CPU.*.cpuprofile` the main isolate; a worker's file is now and then left empty when the process exits as it
 * is written: run again),
 * BENCH_GENERATOR=fetch (force the fetch generator), BENCH_SKIP_CEILING=1.
 * Targets: server ≥ 0.5 of the one-isolate ceiling from one isolate (and of the two-isolate ceiling on two),
 * p99 < 50 ms, 0 errors.
 */
import { createServerSender, type TestSender } from "../tests/helpers/auth.ts";
import {
  cpuMs,
  fmt,
  GENERATOR_THREADS,
  loadAverage,
  type LoadResult,
  loadSettings,
  printTable,
  runLoad,
  sampleUins,
  searchBody,
  seededDataDir,
  type Served,
  startRealServer,
  writeBodies,
} from "./_lib.ts";
import { measureCeiling, resultRow } from "./ceiling.ts";

const s = loadSettings();
const seedFrom = Deno.env.get("BENCH_SEED_DIR");
const profileDir = Deno.env.get("BENCH_PROFILE");
const skipCeiling = Deno.env.get("BENCH_SKIP_CEILING") === "1";

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

async function checkOne(server: Served, sender: TestSender, uin: string): Promise<void> {
  const res = await fetch(`${server.url}/registry/sync/search`, {
    method: "POST",
    headers: { "content-type": "application/json", ...sender.headers() },
    body: searchBody(sender, uin, -1, Date.now()),
  });
  const body = await res.json();
  const item = body?.message?.search_response?.[0];
  if (res.status !== 200 || typeof body.signature !== "string" || item?.data?.reg_records?.length !== 1) {
    throw new Error(`real server answered ${res.status}: ${JSON.stringify(body).slice(0, 400)}`);
  }
}

async function serverRun(
  dataDir: string,
  sender: TestSender,
  uins: string[],
  opts: { isolates: number; expectRps: number; workDir: string; env?: Record<string, string> },
): Promise<LoadResult> {
  const profiling = profileDir !== undefined && opts.isolates === 1;
  // --cpu-prof profiles every isolate, the HTTP isolate (a Web Worker) included: the run measured is the one served.
  const flags = profiling ? ["--cpu-prof", `--cpu-prof-dir=${profileDir}`] : [];
  const server = await startRealServer(dataDir, opts.env, flags);
  try {
    await checkOne(server, sender, uins[0]);
    // Every request needs a fresh message_id: enough pre-signed bodies for the whole run and then some.
    const count = Math.ceil(opts.expectRps * s.seconds * 1.3) + 2000;
    const prefix = `${opts.workDir}/server-${opts.isolates}`;
    await writeBodies(sender, uins, count, prefix, GENERATOR_THREADS);
    const cpuBefore = cpuMs(server.pid);
    const result = await runLoad({
      url: server.url,
      authorization: `Bearer ${sender.token}`,
      prefix,
      connections: s.connections,
      seconds: s.seconds,
    });
    return { ...result, cpuMsPerRequest: (cpuMs(server.pid) - cpuBefore) / result.requests };
  } finally {
    await server.stop();
  }
}

const dataDir = await freshDataDir();
const workDir = await Deno.makeTempDir({ prefix: "dci-bench-load-work-" });
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
  const base = { dataDir, sender, uins, connections: s.connections, seconds: s.seconds, workDir };
  const ceil1 = skipCeiling ? undefined : await measureCeiling({ ...base, isolates: 1 });
  const ceil2 = skipCeiling ? undefined : await measureCeiling({ ...base, isolates: 2 });
  const one = await serverRun(dataDir, sender, uins, {
    isolates: 1,
    expectRps: ceil1?.rps ?? 6000,
    workDir,
    env,
  });
  const isoEnv = await isolatesSetting();
  const two = isoEnv
    ? await serverRun(dataDir, sender, uins, {
      isolates: 2,
      expectRps: ceil2?.rps ?? 12000,
      workDir,
      env: { ...env, [isoEnv]: "2" },
    })
    : undefined;
  const rows = [];
  if (ceil1) rows.push(resultRow("ceiling, 1 isolate", ceil1));
  if (ceil2) rows.push(resultRow("ceiling, 2 isolates", ceil2, ceil1));
  rows.push(resultRow("server, 1 isolate (ratio to ceiling 1)", one, ceil1));
  if (two) rows.push(resultRow("server, 2 isolates (ratio to ceiling 2)", two, ceil2));
  printTable(
    `load: signed sync search, idtype-value, ${s.persons} persons, ${s.connections} connections, ` +
      `${s.seconds} s per run, generator ${one.generator}, 2 cores shared with the generator`,
    rows,
  );
  const verdict = [
    `server 1 isolate: ${ceil1 ? fmt(one.rps / ceil1.rps, 2) : "?"} of the ceiling (target ≥ 0.5)`,
    `p99 ${fmt(one.p99Ms, 1)} ms (target < 50)`,
    `errors ${one.errors} (target 0)`,
  ];
  if (two) {
    verdict.push(`server 2 isolates: ${ceil2 ? fmt(two.rps / ceil2.rps, 2) : "?"} of the 2-isolate ceiling`);
  } else verdict.push("2-isolate server run skipped: no DCI_HTTP_ISOLATES setting in src/config.ts");
  console.log("  " + verdict.join("; "));
  console.log(`  load average at the end: ${loadAverage()}`);
} finally {
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  await Deno.remove(workDir, { recursive: true }).catch(() => {});
}
