/**
 * Abuse benchmark, search cost (issue 11 item 1): the real server on a registry of realistic size. One sender
 * sends the costliest searches it can (10 items of the worst queries within the parse limits) as fast as its
 * rate limit lets it; meanwhile `/healthz` and another sender's signed sync search (idtype-value) are timed,
 * and the same two are timed on the idle server (the other sender's search twice: an identifier lookup, answered
 * in the HTTP isolate, and a predicate, answered in the search pool like the attacker's). Targets: `/healthz`
 * p99 < 50 ms, the other sender's search p99 < 100 ms. Part of bench/abuse.ts; runs alone too:
 *
 *   deno run -A bench/abuse.ts search                 # 100,000 persons, 30 s per phase
 *   BENCH_ABUSE_PERSONS=430000 deno run -A bench/abuse.ts search
 * Env: BENCH_ABUSE_PERSONS (else BENCH_PERSONS, default 100,000), BENCH_ABUSE_SECONDS (per phase, default 30),
 * BENCH_SEED_DIR (copy dci.sqlite from an already seeded data dir), BENCH_ABUSE_ENV (extra server settings,
 * `K=V,K=V`, e.g. `DCI_HTTP_ISOLATES=2`). The attacker's rate limit is the server default (DCI_RATE_LIMIT_*).
 */
import { createServerSender, type TestSender } from "../tests/helpers/auth.ts";
import { requestEnvelope } from "../tests/helpers/dci.ts";
import {
  expression,
  HOUSEHOLD_QUERY,
  ISSUE_QUERY,
  PERSON_QUERY,
} from "../tests/security/pathological_queries.ts";
import {
  type AbuseRow,
  fmt,
  loadAverage,
  sampleUins,
  seededDataDir,
  type Served,
  startRealServer,
} from "./_lib.ts";

/** One line of the abuse table (bench/abuse.ts prints the rows of every scenario side by side). */

const PERSONS = Number(Deno.env.get("BENCH_ABUSE_PERSONS") ?? Deno.env.get("BENCH_PERSONS") ?? 100_000);
const SECONDS = Number(Deno.env.get("BENCH_ABUSE_SECONDS") ?? 30);
const WORST = [ISSUE_QUERY, PERSON_QUERY, HOUSEHOLD_QUERY].map(expression);
/** Connections the attacker keeps busy (it sends the next request as soon as one is answered). */
const ATTACK_CONNECTIONS = 4;

function p99(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(0.99 * s.length))] : NaN;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function serverEnv(): Record<string, string> {
  const extra = Deno.env.get("BENCH_ABUSE_ENV") ?? "";
  return Object.fromEntries(extra.split(",").filter((kv) => kv.includes("=")).map((kv) => kv.split("=", 2)));
}

async function dataDir(): Promise<string> {
  const from = Deno.env.get("BENCH_SEED_DIR");
  if (!from) return await seededDataDir(PERSONS);
  const dir = await Deno.makeTempDir({ prefix: "dci-bench-abuse-" });
  await Deno.copyFile(`${from}/dci.sqlite`, `${dir}/dci.sqlite`);
  return dir;
}

function searchBody(sender: TestSender, id: string, criteria: Array<Record<string, unknown>>): string {
  const now = new Date().toISOString();
  return JSON.stringify(sender.sign(requestEnvelope(sender.senderId, {
    transaction_id: id,
    search_request: criteria.map((c, i) => ({
      reference_id: `${id}-${i}`,
      timestamp: now,
      search_criteria: c,
    })),
  }, { totalCount: criteria.length })));
}

async function post(server: Served, sender: TestSender, body: string): Promise<Response> {
  return await fetch(`${server.url}/registry/sync/search`, {
    method: "POST",
    headers: { "content-type": "application/json", ...sender.headers() },
    body,
  });
}

/** A cheap predicate search (an index range): it runs in the search pool, beside the attacker's searches. */
function predicateCriteria(i: number): Record<string, unknown> {
  const day = new Date(Date.UTC(1960, 0, 1) + (i % 15_000) * 86_400_000).toISOString().slice(0, 10);
  return {
    query_type: "predicate",
    query: [{
      expression1: { attribute_name: "birth_date", operator: "eq", attribute_value: day },
      condition: "and",
      expression2: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
    }],
    pagination: { page_size: 10 },
  };
}

/** Latencies of `/healthz` and of the other sender's searches over `seconds`, each probe in its own loop. */
async function probe(server: Served, other: TestSender, uins: string[], seconds: number) {
  const until = performance.now() + seconds * 1000;
  const health: number[] = [];
  const search: number[] = [];
  const predicate: number[] = [];
  let failures = 0;
  const healthLoop = async () => {
    while (performance.now() < until) {
      const t = performance.now();
      const res = await fetch(`${server.url}/healthz`);
      await res.body?.cancel();
      health.push(performance.now() - t);
      if (res.status !== 200) failures++;
      await sleep(20);
    }
  };
  const searchLoop = async (samples: number[], criteria: (i: number) => Record<string, unknown>) => {
    for (let i = 0; performance.now() < until; i++) {
      const body = searchBody(other, `probe-${crypto.randomUUID()}`, [criteria(i)]);
      const t = performance.now();
      const res = await post(server, other, body);
      const json = await res.json();
      samples.push(performance.now() - t);
      if (res.status !== 200 || json?.message?.search_response?.[0]?.status !== "succ") failures++;
      await sleep(50);
    }
  };
  const lookup = (i: number) => ({
    query_type: "idtype-value",
    query: { type: "UIN", value: uins[i % uins.length] },
  });
  await Promise.all([healthLoop(), searchLoop(search, lookup), searchLoop(predicate, predicateCriteria)]);
  return { health, search, predicate, failures };
}

/** What the attacker got: answers, items refused over budget, 429s. */
interface AttackTally {
  requests: number;
  refusedItems: number;
  limited: number;
  slowestMs: number;
}

/** The attacker: worst searches back to back on a few connections, pausing as Retry-After says on a 429. */
function attack(server: Served, attacker: TestSender, stop: { done: boolean }): Promise<AttackTally> {
  const tally: AttackTally = { requests: 0, refusedItems: 0, limited: 0, slowestMs: 0 };
  const loop = async (k: number) => {
    for (let i = 0; !stop.done; i++) {
      const items = Array.from({ length: 10 }, (_, j) => WORST[(i + j + k) % WORST.length]);
      const t = performance.now();
      const res = await post(server, attacker, searchBody(attacker, `attack-${crypto.randomUUID()}`, items));
      const json = await res.json().catch(() => undefined);
      tally.slowestMs = Math.max(tally.slowestMs, performance.now() - t);
      if (res.status === 429) {
        tally.limited++;
        const wait = Number(res.headers.get("retry-after") ?? 1);
        await sleep(Math.min(Math.max(wait, 0.05), 5) * 1000);
        continue;
      }
      tally.requests++;
      for (const item of json?.message?.search_response ?? []) {
        if (item.status_reason_code === "rjct.search.too_many_records_found") tally.refusedItems++;
      }
    }
  };
  return Promise.all(Array.from({ length: ATTACK_CONNECTIONS }, (_, k) => loop(k))).then(() => tally);
}

/** Runs the scenario and returns its rows. */
export async function runAbuseSearch(): Promise<AbuseRow[]> {
  const dir = await dataDir();
  const server = await startRealServer(dir, serverEnv());
  try {
    const uins = sampleUins(dir, 2000);
    const target = { url: server.url, dataDir: dir };
    const other = await createServerSender(target, { limit_minute: 10_000_000, limit_day: 1_000_000_000 });
    const attacker = await createServerSender(target);
    const idle = await probe(server, other, uins, SECONDS);
    const stop = { done: false };
    const attacking = attack(server, attacker, stop);
    const abused = await probe(server, other, uins, SECONDS);
    stop.done = true;
    const tally = await attacking;
    const note = `${PERSONS} persons; attacker: ${tally.requests} requests of 10 worst items answered ` +
      `(${tally.refusedItems} items refused over the time budget, slowest answer ${
        fmt(tally.slowestMs)
      } ms), ` +
      `${tally.limited} times 429; probe failures ${idle.failures + abused.failures}; load ${loadAverage()}`;
    const healthIdle = p99(idle.health);
    const healthAbused = p99(abused.health);
    const searchIdle = p99(idle.search);
    const searchAbused = p99(abused.search);
    return [
      {
        measure: "/healthz p99 while one sender sends its worst searches at its rate limit",
        target: "< 50 ms",
        idle: healthIdle,
        abused: healthAbused,
        unit: "ms",
        met: healthAbused < 50,
        note,
      },
      {
        measure: "another sender's signed sync search p99 (idtype-value), same time",
        target: "< 100 ms",
        idle: searchIdle,
        abused: searchAbused,
        unit: "ms",
        met: searchAbused < 100,
      },
      {
        measure: "another sender's signed sync search p99 (predicate), same time",
        target: "< 100 ms",
        idle: p99(idle.predicate),
        abused: p99(abused.predicate),
        unit: "ms",
        met: p99(abused.predicate) < 100,
      },
    ];
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}
