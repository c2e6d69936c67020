/**
 * Console page data at scale: server time of each list the console pages read (admin API in process, without
 * the network), first page and a deep page, on a data dir with BENCH_PERSONS persons (demo seed, households
 * included) and BENCH_TXNS transactions, plus notifications, audit entries and a day of dashboard history.
 *
 *   deno run -A bench/console_pages.ts                                        # 1,000,000 persons, 100,000 txns
 *   BENCH_PERSONS=50000 BENCH_TXNS=10000 deno run -A bench/console_pages.ts   # quick
 *
 * The target (issue 15): < 100 ms server time per page. Reported: median and max of BENCH_RUNS runs per page.
 */
import { testConfig } from "../src/config.ts";
import { closeDeps, openSqliteDeps } from "../src/deps.ts";
import { silentLogger } from "../src/obs/log.ts";
import { createApp } from "../src/app.ts";
import { createAdminToken } from "../src/admin/tokens.ts";
import { transaction } from "../src/db/sqlite.ts";
import { LOOPBACK_ONLY, RUN_FLAGS } from "../tests/helpers/runtime.ts";
import { loadAverage, MAIN } from "./_lib.ts";

const PERSONS = Number(Deno.env.get("BENCH_PERSONS") ?? 1_000_000);
const TXNS = Number(Deno.env.get("BENCH_TXNS") ?? 100_000);
const RUNS = Number(Deno.env.get("BENCH_RUNS") ?? 15);
const dir = await Deno.makeTempDir({ prefix: "dci-bench-console-" });

try {
  const t0 = performance.now();
  const seed = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...LOOPBACK_ONLY, ...RUN_FLAGS, MAIN, "registry", "seed", "--demo", String(PERSONS)],
    env: { DCI_DATA_DIR: dir, DCI_LOG_LEVEL: "error" },
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (seed.code !== 0) throw new Error(`seed failed: ${new TextDecoder().decode(seed.stdout)}`);
  console.log(`seeded ${PERSONS} persons in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const deps = await openSqliteDeps(testConfig({ dataDir: dir }), { log: silentLogger });
  try {
    fill(deps.db);
    const app = createApp(deps);
    const { token } = await createAdminToken(deps.db, { role: "viewer" });
    const headers = { authorization: `Bearer ${token}` };
    const get = async (path: string) => {
      const t = performance.now();
      const res = await app.request(`/admin/v1${path}`, { headers });
      const body = await res.text();
      const ms = performance.now() - t;
      if (res.status !== 200) throw new Error(`${path}: ${res.status} ${body.slice(0, 300)}`);
      return { ms, body: JSON.parse(body) };
    };
    const q = (sql: string) => deps.db.prepare(sql).get() as Record<string, string | number>;
    const midTxn = Number(
      q("SELECT id FROM transactions ORDER BY id LIMIT 1 OFFSET " + Math.floor(TXNS / 2)).id,
    );
    const surname = String(
      q("SELECT surname FROM registrants WHERE surname IS NOT NULL LIMIT 1 OFFSET 777").surname,
    );
    const uin = String(q("SELECT id_value FROM identifiers LIMIT 1 OFFSET 4242").id_value);
    const midEvent = Number(q("SELECT MAX(id) / 2 AS id FROM registry_events").id);
    const prefix = surname.slice(0, 3);
    const deep = (await get(`/registries/social/registrants?q=${prefix}&limit=50`)).body.next_after;
    const pages: Array<[string, string]> = [
      ["transactions, first page", "/transactions?limit=50"],
      ["transactions, deep page", `/transactions?limit=50&before=${midTxn}`],
      ["transactions, state=callback_failed", "/transactions?limit=50&state=callback_failed"],
      ["transactions, sender filter", "/transactions?limit=50&sender_id=bench-sender-7"],
      ["transactions, registry=crvs", "/transactions?limit=50&registry=crvs"],
      [
        "transactions, one hour",
        `/transactions?limit=50&since=2026-05-01T10:00:00Z&until=2026-05-01T11:00:00Z`,
      ],
      ["registrants, first page", "/registries/social/registrants?limit=50"],
      [
        "registrants, first page, counts=true (opt-in)",
        "/registries/social/registrants?limit=50&counts=true",
      ],
      ["registrants, q=identifier", `/registries/social/registrants?q=${uin}`],
      [`registrants, q=surname prefix "${prefix}"`, `/registries/social/registrants?q=${prefix}&limit=50`],
      [
        "registrants, q=surname prefix, page 2",
        `/registries/social/registrants?q=${prefix}&limit=50&after=${deep}`,
      ],
      ["registry events, recent", "/registries/social/events?recent=true&limit=50"],
      ["registry events, recent deep", `/registries/social/events?recent=true&limit=50&before=${midEvent}`],
      ["subscriptions, first page", "/subscriptions?limit=50"],
      ["notifications, first page", "/notifications?limit=50"],
      ["notifications, status=failed", "/notifications?limit=50&status=failed"],
      ["audit, first page", "/audit?limit=50"],
      ["audit, actor filter", "/audit?limit=50&actor=at_0000000000000003"],
      ["dashboard, hour", "/dashboard?range=hour"],
      ["dashboard, day", "/dashboard?range=day"],
    ];
    console.log(`\nload average before: ${loadAverage()}`);
    console.log(`| page | median ms | max ms |\n| --- | ---: | ---: |`);
    for (const [name, path] of pages) {
      const times: number[] = [];
      for (let i = 0; i < RUNS; i++) times.push((await get(path)).ms);
      times.sort((a, b) => a - b);
      console.log(`| ${name} | ${times[Math.floor(RUNS / 2)].toFixed(1)} | ${times.at(-1)!.toFixed(1)} |`);
    }
    console.log(`\n${PERSONS} persons, ${TXNS} transactions; load average after: ${loadAverage()}`);
  } finally {
    closeDeps(deps);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}

/** Transactions, subscriptions, notifications, audit entries and a day of history, written in bulk. */
function fill(db: Parameters<typeof transaction>[0]): void {
  const states = [
    "callback_sent",
    "callback_sent",
    "callback_sent",
    "callback_failed",
    "pending",
    "succeeded",
  ];
  const registries = ["social", "social", "crvs", "fr", "dr", "ibr"];
  const start = Date.parse("2026-05-01T00:00:00Z");
  transaction(db, () => {
    const txn = db.prepare(
      `INSERT INTO transactions (sender_id, transaction_id, dedupe_key, message_id, correlation_id, action, registry,
         callback_url, request_header, request_message, ack, state, outcome, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, 'search', ?, 'https://p.example/cb', '{}', '{}', '{}', ?, 'succ', ?, ?)`,
    );
    for (let i = 0; i < TXNS; i++) {
      const at = new Date(start + i * 1000).toISOString();
      txn.run(
        `bench-sender-${i % 20}`,
        `t${i}`,
        `t${i}`,
        `m${i}`,
        crypto.randomUUID(),
        registries[i % 6],
        states[i % 6],
        at,
        at,
      );
    }
    const sub = db.prepare(
      `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
         dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at)
       VALUES (?, ?, 'social', 'registration', 'person', 'Person', ?, 'https://p.example/n', 'active', ?, ?, ?, ?)`,
    );
    for (let i = 0; i < 2000; i++) {
      sub.run(
        `s${i}`,
        `bench-sender-${i % 20}`,
        `d${i}`,
        `c${i}`,
        `s${i}`,
        "2026-05-01T00:00:00Z",
        "2026-05-01T00:00:00Z",
      );
    }
    const note = db.prepare(
      `INSERT INTO notifications (notification_id, subscription_id, event_id, event_type, record_type, record_count,
         message_id, status, next_attempt_at, created_at, updated_at)
       VALUES (?, (SELECT id FROM subscriptions WHERE code = ?), ?, 'registration', 'person', 1, ?, ?, ?, ?, ?)`,
    );
    for (let i = 0; i < TXNS; i++) {
      const at = new Date(start + i * 1000).toISOString();
      note.run(`n${i}`, `s${i % 2000}`, i + 1, `nm${i}`, i % 50 === 0 ? "failed" : "sent", at, at, at);
    }
    const audit = db.prepare(
      `INSERT INTO audit_log (at, source, actor_kind, actor, action, target_kind, target_id, detail)
       VALUES (?, 'api', 'token', ?, 'sender.update', 'sender', ?, '{}')`,
    );
    for (let i = 0; i < TXNS; i++) {
      audit.run(
        new Date(start + i * 1000).toISOString(),
        `at_000000000000000${i % 10}`,
        `bench-sender-${i % 20}`,
      );
    }
    const history = db.prepare(
      `INSERT INTO metrics_history (span, minute, metric, registry, sender, label, value)
       VALUES (?, ?, 'requests', ?, ?, ?, ?) ON CONFLICT DO UPDATE SET value = value + excluded.value`,
    );
    const now = Math.floor(Date.now() / 60_000);
    for (let m = now - 1500; m <= now; m++) {
      for (let s = 0; s < 20; s++) {
        for (const [span, at] of [[1, m], [10, m - (m % 10)]]) {
          history.run(span, at, registries[s % 6], `bench-sender-${s}`, s % 7 ? "200" : "429", 10 + s);
        }
      }
    }
  });
}
