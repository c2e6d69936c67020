/**
 * Input caps benchmark: how long each validator or parser that reads sender input takes on pathological
 * strings of 1e3 … 1e6 characters (the shapes that make a backtracking pattern quadratic), in-process.
 * A case whose run passes BENCH_CAPS_LIMIT_MS (default 3000) is not run at the next size (the figure is then
 * the quadratic estimate, marked "~"). Figures only, no assertion; tests/security/input_caps_test.ts asserts
 * that each one returns with a rejection.
 */
import { closeDeps, openSqliteDeps, type SqliteDeps } from "../src/deps.ts";
import { testConfig } from "../src/config.ts";
import { fakeClock } from "../src/clock.ts";
import { silentLogger } from "../src/obs/log.ts";
import { createApp } from "../src/app.ts";
import { DateTime } from "../src/dci/schemas.ts";
import { subscribeProcessor } from "../src/subscriptions/processors.ts";
import { notifyUrl } from "../src/subscriptions/rules.ts";
import { callbackUrl } from "../src/transactions/callback.ts";
import { searchItem } from "../src/registry/search.ts";
import { parseSignature } from "../src/auth/envelope_signature.ts";
import { parseSignatureInput } from "../src/auth/http_signature.ts";
import { createTestSender } from "../tests/helpers/auth.ts";
import { requestEnvelope } from "../tests/helpers/dci.ts";
import { loadAverage } from "./_lib.ts";

const SIZES = [1_000, 10_000, 100_000, 1_000_000];
const LIMIT_MS = Number(Deno.env.get("BENCH_CAPS_LIMIT_MS") ?? 3000);

const now = Date.parse("2026-01-01T00:00:00Z");
const deps: SqliteDeps = await openSqliteDeps(
  testConfig({ bodyLimit: String(8 * 1024 * 1024), rateLimitMinute: "1000000", rateLimitDay: "100000000" }),
  { clock: fakeClock(now), log: silentLogger },
);
const alice = await createTestSender(deps);
const app = createApp(deps);

function subscribeItem(startTime: string) {
  return {
    reference_id: "r1",
    timestamp: "2026-01-01T00:00:00Z",
    subscribe_criteria: {
      reg_event_type: "registration",
      notify_record_type: "person",
      frequency: { start_time: startTime },
    },
  };
}

/** A signed subscribe envelope whose one string is `big` (built outside the timed part). */
function subscribeBody(big: string): string {
  const env = requestEnvelope(alice.senderId, {
    transaction_id: "t1",
    subscribe_request: [subscribeItem(big)],
  }, { action: "subscribe", totalCount: 1, nowMs: now, header: { sender_uri: "https://cb.example/cb" } });
  return JSON.stringify(alice.sign(env, now));
}

/** Posts a body to the subscribe endpoint; resolves when the server has answered. */
async function postSubscribe(body: string): Promise<void> {
  const res = await app.request("/registry/subscribe", {
    method: "POST",
    headers: { "content-type": "application/json", ...alice.headers() },
    body,
  });
  await res.arrayBuffer();
}

const CASES: Array<{ name: string; input: (n: number) => string; run: (s: string) => unknown }> = [
  {
    name: "subscribe frequency.start_time 'T'×n (processor)",
    input: (n) => "T".repeat(n),
    run: (s) =>
      subscribeProcessor(deps, {
        registry: "social",
        senderId: alice.senderId,
        header: {
          version: "1.0.0",
          message_id: "m",
          message_ts: "x",
          action: "subscribe",
          sender_id: "s",
          total_count: 1,
        },
        message: { transaction_id: "t", subscribe_request: [subscribeItem(s)] },
        transactionId: "t",
        correlationId: crypto.randomUUID(),
      }),
  },
  {
    name: "POST /registry/subscribe start_time 'T'×n (accept)",
    input: (n) => subscribeBody("T".repeat(n)),
    run: postSubscribe,
  },
  {
    name: "callbackUrl(base + '/'×n + 'x')",
    input: (n) => `https://cb.example/${"/".repeat(n)}x`,
    run: (s) => callbackUrl(s, "search"),
  },
  {
    name: "notifyUrl(base + '/'×n + 'x')",
    input: (n) => `https://cb.example/${"/".repeat(n)}x`,
    run: (s) => notifyUrl(s),
  },
  {
    name: "DateTime schema '2026-01-01T00:00:00.' + '0'×n",
    input: (n) => `2026-01-01T00:00:00.${"0".repeat(n)}x`,
    run: (s) => DateTime.safeParse(s),
  },
  {
    name: "search item timestamp 'T'×n",
    input: (n) => "T".repeat(n),
    run: (s) =>
      searchItem({ db: deps.db, maxPageSize: 100, maxResults: 10_000, now }, {
        reference_id: "r",
        timestamp: s,
        search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "1" } },
      }),
  },
  {
    name: "envelope signature ' '×n",
    input: (n) => `a="${" ".repeat(n)}`,
    run: (s) => parseSignature(s),
  },
  {
    name: "Signature-Input '(\"a\" '×n/4",
    input: (n) => `sig=(${'"a" '.repeat(n / 4)}`,
    run: (s) => parseSignatureInput(s),
  },
];

const rows: Array<Record<string, string>> = [];
for (const c of CASES) {
  const row: Record<string, string> = { case: c.name };
  let last: { n: number; ms: number } | undefined;
  for (const n of SIZES) {
    const label = n >= 1e6 ? `${n / 1e6}M` : `${n / 1e3}k`;
    if (last && last.ms > LIMIT_MS) {
      row[label] = `~${fmt(last.ms * (n / last.n) ** 2)}`;
      last = { n, ms: last.ms * (n / last.n) ** 2 };
      continue;
    }
    const s = c.input(n);
    const t0 = performance.now();
    await c.run(s);
    const ms = performance.now() - t0;
    row[label] = fmt(ms);
    last = { n, ms };
  }
  rows.push(row);
}
closeDeps(deps);

function fmt(ms: number): string {
  return ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(2)} ms`;
}

console.log(`input caps benchmark (one isolate; load average ${loadAverage()}; "~" = quadratic estimate)`);
console.table(rows);
