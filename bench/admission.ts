/**
 * The admission's write on SQLite (src/senders/limits_store.ts, src/auth/replay.ts), in-process on a database
 * file: µs per admitted request (rate counts and replay guard, one group commit per batch of BENCH_BATCH, default
 * 31, about what one event-loop turn of the load bench admits) with a fresh replay guard and with BENCH_PREFILL
 * records already in it (default 300,000: ~100 s of a 3,000 req/s load; a full default window of it is 1.8
 * million); then a new connection's first admission, which loads the window's records into its index first.
 * Figures only. Run: deno run -A bench/admission.ts
 */
import { openDatabase } from "../src/db/sqlite.ts";
import { migrate } from "../src/db/migrate.ts";
import { type RateLimitStore, sqliteRateLimitStore } from "../src/senders/limits_store.ts";
import { fmt, loadAverage } from "./_lib.ts";

const batch = Number(Deno.env.get("BENCH_BATCH") ?? 31);
const batches = Number(Deno.env.get("BENCH_BATCHES") ?? 2000);
const prefill = Number(Deno.env.get("BENCH_PREFILL") ?? 300_000);
const WINDOW_MS = 600_000;

/** One admission of a fresh message id at `t`. */
function admitOne(store: RateLimitStore, t: number) {
  return store.admit({
    senderId: "bench-sender",
    limits: { minute: 1e12, day: 1e12 },
    messageId: crypto.randomUUID(),
    replayWindowMs: WINDOW_MS,
  }, t);
}

/** Admits `n` batches of fresh message ids from `t`, each batch 3 ms later; the µs per admission and the clock. */
async function admitBatches(store: RateLimitStore, n: number, t: number): Promise<[number, number]> {
  const t0 = performance.now();
  for (let b = 0; b < n; b++) {
    t += 3;
    const outcomes = await Promise.all(Array.from({ length: batch }, () => admitOne(store, t)));
    if (outcomes.some((o) => !("decision" in o))) throw new Error("an admission was refused");
  }
  return [(performance.now() - t0) * 1000 / (n * batch), t];
}

const dir = await Deno.makeTempDir({ prefix: "dci-bench-admission-" });
try {
  const path = `${dir}/dci.sqlite`;
  const db = openDatabase(path);
  migrate(db);
  const store = sqliteRateLimitStore(db);
  let t = Date.now();
  let us: number;
  [us, t] = await admitBatches(store, batches, t);
  console.log(`fresh replay guard: ${fmt(us, 2)} µs per admission (${batches} batches of ${batch})`);
  // The prefill as admissions of a 3 ms turn each, so the records' times span the window as a load's would.
  const fillBatches = Math.ceil(prefill / batch);
  const step = Math.max(1, Math.floor(WINDOW_MS / 2 / fillBatches));
  for (let b = 0; b < fillBatches; b++) {
    t += step;
    await Promise.all(Array.from({ length: batch }, () => admitOne(store, t)));
  }
  [us, t] = await admitBatches(store, batches, t);
  const records = Number((db.prepare("SELECT COUNT(*) AS n FROM replay_guard").get() as { n: number }).n);
  console.log(`${fmt(records)} records: ${fmt(us, 2)} µs per admission`);
  db.close();
  // A restart: a new connection's first admission loads the window's records.
  const again = openDatabase(path);
  const t0 = performance.now();
  await admitOne(sqliteRateLimitStore(again), t + 3);
  console.log(
    `a new connection's first admission (loads ${fmt(records)} records): ${fmt(performance.now() - t0)} ms`,
  );
  again.close();
  console.log(`load average: ${loadAverage()}`);
} finally {
  await Deno.remove(dir, { recursive: true });
}
