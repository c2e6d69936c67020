/**
 * Notification throughput: N registry updates (default 1,000, the size) with 10 active subscriptions
 * (5 senders × one unfiltered + one filtered), every matching notification delivered to a loopback receiver.
 * The expected count is computed here independently of the server.
 *
 *   deno run -A --unstable-kv --unstable-cron bench/notifications.ts        (BENCH_NOTIFY_UPDATES=1000)
 *
 * With `--events N` or `--subscriptions M` it runs the backlog bench instead (bench/_notify_backlog.ts): N
 * events × M subscriptions drained by the real server, with `--kill` (SIGKILL and restart at half) and
 * `--frequency "<cron>"` (batched notifies).
 */
import { closeDeps } from "../src/deps.ts";
import { transaction } from "../src/db/sqlite.ts";
import { readRegistrant } from "../src/registry/model.ts";
import { saveRegistrant } from "../src/registry/store.ts";
import { addSender } from "../src/senders/store.ts";
import { subscribeProcessor } from "../src/subscriptions/processors.ts";
import { startNotifier, wakeNotifier } from "../src/subscriptions/notifier.ts";
import { notificationCounts } from "../src/subscriptions/notifications.ts";
import type { RequestHeader } from "../src/dci/schemas.ts";
import { openBenchDeps, runBacklogBench } from "./_notify_backlog.ts";

if (Deno.args.some((a) => /^--(events|subscriptions)\b/.test(a))) {
  await runBacklogBench(Deno.args);
  Deno.exit();
}

const UPDATES = Number(Deno.env.get("BENCH_NOTIFY_UPDATES") ?? 1000);
const PERSONS = 100;
const pred = (attr: string, op: string, value: unknown) => ({
  seq_num: 1,
  expression1: { attribute_name: attr, operator: op, attribute_value: value },
});
/** Filtered subscriptions and the same predicate in JS (for the expected count). */
const FILTERS: Array<{ filter: unknown[]; match: (sex: string, region: string) => boolean }> = [
  { filter: [pred("sex", "eq", "female")], match: (s) => s === "female" },
  { filter: [pred("sex", "eq", "male")], match: (s) => s === "male" },
  { filter: [pred("region", "eq", "R0")], match: (_s, r) => r === "R0" },
  { filter: [pred("region", "in", ["R1", "R2"])], match: (_s, r) => r === "R1" || r === "R2" },
  {
    filter: [{
      ...pred("sex", "eq", "female"),
      condition: "and",
      expression2: pred("region", "eq", "R3").expression1,
    }],
    match: (s, r) => s === "female" && r === "R3",
  },
];

function change(k: number) {
  return { sex: k % 2 ? "male" : "female", region: `R${k % 5}` };
}

function personRaw(i: number, sex: string, region: string) {
  return {
    id: `b${i}`,
    identifiers: [{ type: "UIN", value: `UB-${i}` }],
    name: { given_name: `G${i}`, surname: "Bench" },
    sex,
    birth_date: "1980-05-05",
    address: [{ locality: "L", region_code: region, country_code: "XX" }],
  };
}

const dataDir = await Deno.makeTempDir({ prefix: "dci-bench-notify-" });
const received = new Set<string>();
let done: () => void = () => {};
let expected = 0;
const finished = new Promise<void>((r) => done = r);
const rx = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
  await req.arrayBuffer();
  received.add(req.headers.get("x-dci-notification-id") ?? "");
  if (expected > 0 && received.size >= expected) done();
  return new Response("{}", { headers: { "content-type": "application/json" } });
});
const deps = await openBenchDeps(dataDir);
try {
  const now = () => new Date().toISOString();
  for (let i = 0; i < PERSONS; i++) {
    transaction(
      deps.db,
      () =>
        saveRegistrant(deps.db, readRegistrant(personRaw(i, "female", "R0"), now()), {
          mode: "upsert",
          now: now(),
        }),
    );
  }
  for (let s = 0; s < 5; s++) {
    const senderId = `bench-${s}`;
    addSender(deps, senderId, { name: senderId, auto_approve_subscriptions: true });
    const items = [{ reg_event_type: "update", notify_record_type: "person" }, {
      reg_event_type: "update",
      notify_record_type: "person",
      filter_type: "predicate",
      filter: FILTERS[s].filter,
    }].map((c, i) => ({ reference_id: `r${i}`, timestamp: now(), subscribe_criteria: c }));
    const header = { sender_id: senderId, sender_uri: `http://127.0.0.1:${rx.addr.port}` } as RequestHeader;
    const r = await subscribeProcessor(deps, {
      registry: "social",
      senderId,
      header,
      message: { transaction_id: "t", subscribe_request: items },
      transactionId: "t",
      correlationId: crypto.randomUUID(),
    });
    const statuses = (r.message.subscribe_response as Array<{ status: string }>).map((x) => x.status);
    if (statuses.some((x) => x !== "succ")) throw new Error(`subscribe failed: ${JSON.stringify(r.message)}`);
  }
  for (let k = 0; k < UPDATES; k++) {
    const c = change(k);
    expected += 5 + FILTERS.filter((f) => f.match(c.sex, c.region)).length;
  }
  const notifier = startNotifier(deps);
  const t0 = performance.now();
  for (let k = 0; k < UPDATES; k++) {
    const c = change(k);
    // One transaction per change, as the admin API makes them.
    transaction(
      deps.db,
      () =>
        saveRegistrant(deps.db, readRegistrant(personRaw(k % PERSONS, c.sex, c.region), now()), {
          mode: "upsert",
          now: now(),
        }),
    );
    wakeNotifier(deps); // as the admin API does after each change it commits
    if (k % 50 === 0) await new Promise((r) => setTimeout(r, 0));
  }
  const tWrites = performance.now() - t0;
  const timeout = setTimeout(() => done(), 60_000);
  await finished;
  clearTimeout(timeout);
  const total = performance.now() - t0;
  await notifier.stop();
  const counts = Object.fromEntries(notificationCounts(deps.db).map((r) => [r.status, r.n]));
  const ok = received.size === expected;
  console.log("bench/notifications: registry updates → signed notify deliveries (loopback receiver)");
  console.table({
    "registry updates": { value: UPDATES },
    "active subscriptions (5 filtered)": { value: 10 },
    "notifications expected": { value: expected },
    "notifications delivered (distinct ids)": { value: received.size },
    "log: sent / pending / failed": {
      value: `${counts.sent ?? 0} / ${counts.pending ?? 0} / ${counts.failed ?? 0}`,
    },
    "updates written in (ms)": { value: Math.round(tWrites) },
    "all delivered after (ms)": { value: Math.round(total) },
    "delivery rate (notifications/s)": { value: Math.round(received.size / (total / 1000)) },
    "within 60 s": { value: ok && total < 60_000 ? "yes" : "NO" },
  });
  if (!ok) Deno.exitCode = 1;
} finally {
  closeDeps(deps);
  await rx.shutdown();
  await Deno.remove(dataDir, { recursive: true }).catch(() => {});
}
