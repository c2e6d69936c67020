/**
 * The abuse benchmark (issue 11): what one hostile or broken party can do to everyone else. Each scenario runs
 * its own real server and measures the same thing twice, on the idle server and under the abuse, beside its
 * target:
 * - search (bench/_abuse_search.ts): one sender sends the worst queries it can at its rate limit; `/healthz`
 *   p99 < 50 ms and another sender's signed sync searches p99 < 100 ms;
 * - token (bench/_abuse_token.ts): 1,000 bad client-credential requests from 16+ loopback addresses; a
 *   legitimate client's token p99 < 250 ms;
 * - outbound (bench/_abuse_outbound.ts): one sender's callbacks to an endpoint that never answers; another
 *   sender's callback arrives within 1 s.
 *
 *   deno run -A bench/abuse.ts [search] [token] [outbound]      (no name: all three)
 *
 * Figures only: nothing here asserts a time.
 */
import { type AbuseRow, fmt, loadAverage, printTable } from "./_lib.ts";
import { runAbuseSearch } from "./_abuse_search.ts";
import { runAbuseToken } from "./_abuse_token.ts";
import { runAbuseOutbound } from "./_abuse_outbound.ts";

const SCENARIOS: Record<string, () => Promise<AbuseRow[]>> = {
  search: runAbuseSearch,
  token: runAbuseToken,
  outbound: runAbuseOutbound,
};

const unknown = Deno.args.filter((a) => !(a in SCENARIOS));
if (unknown.length > 0) {
  console.error(`unknown scenario(s) ${unknown.join(", ")}; known: ${Object.keys(SCENARIOS).join(", ")}`);
  Deno.exit(2);
}
const rows: AbuseRow[] = [];
for (const [name, run] of Object.entries(SCENARIOS)) {
  if (Deno.args.length > 0 && !Deno.args.includes(name)) continue;
  console.log(`abuse: ${name} (load average ${loadAverage()})`);
  rows.push(...await run());
}
printTable(
  `abuse: idle beside under abuse (load average ${loadAverage()})`,
  rows.map((r) => ({
    measure: r.measure,
    target: r.target,
    idle: `${fmt(r.idle, 1)} ${r.unit}`,
    "under abuse": `${fmt(r.abused, 1)} ${r.unit}`,
    met: r.met ? "yes" : "NO",
  })),
);
for (const r of rows) if (r.note) console.log(`  ${r.measure}: ${r.note}`);
