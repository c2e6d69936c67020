/**
 * Fuzz run (issue 7 item 4): FUZZ_COUNT (default 10000) generated malformed inputs, seed FUZZ_SEED (default 7),
 * against the real server process; prints inputs by category, answers by status/code and every violation with
 * its reproducer. FUZZ_ONLY=12,345 re-runs only those case indices. Exits 1 on any violation.
 * The oracle: a 4xx ERR ACK or signed rjct envelope, a 2xx signed envelope / ACK, never a 5xx; afterwards
 * /healthz answers and `PRAGMA integrity_check` is ok.
 */
import { integrityCheck, startFuzzTarget } from "../tests/fuzz/target.ts";
import { formatReport, runFuzz } from "../tests/fuzz/runner.ts";
import type { FuzzCase } from "../tests/fuzz/cases.ts";
import type { Answer } from "../tests/fuzz/send.ts";

const seed = Number(Deno.env.get("FUZZ_SEED") ?? 7);
const count = Number(Deno.env.get("FUZZ_COUNT") ?? 10_000);
const only = Deno.env.get("FUZZ_ONLY")?.split(",").map(Number);
const concurrency = Number(Deno.env.get("FUZZ_CONCURRENCY") ?? 8);

const { server, ctx, receiver } = await startFuzzTarget();
let failed = false;
try {
  const onCase = Deno.env.get("FUZZ_VERBOSE")
    ? (c: FuzzCase, a: Answer) =>
      console.log(`#${c.index} [${c.category}] ${c.desc} → ${a.status} ${a.error ?? a.text.slice(0, 300)}`)
    : undefined;
  const report = await runFuzz(ctx, { seed, count, concurrency, only, onCase });
  console.log(formatReport(report));
  const health = await fetch(`${server.url}/healthz`).then((r) => r.status).catch(() => 0);
  console.log(`\n/healthz after the run: ${health}`);
  const unhandled = server.logs.filter((l) => l.level === "error");
  console.log(`server error log lines: ${unhandled.length}`);
  for (const l of unhandled.slice(0, 10)) console.log(`  ${JSON.stringify(l).slice(0, 600)}`);
  failed = report.violations.length > 0 || health !== 200;
} finally {
  const code = await server.stop();
  await receiver.close();
  console.log(`callbacks received by the loopback receiver: ${receiver.received}`);
  const integrity = integrityCheck(server.dataDir);
  console.log(`server exit code ${code}; PRAGMA integrity_check: ${integrity}`);
  failed ||= integrity !== "ok";
  console.log(
    `reproduce one: FUZZ_SEED=${seed} FUZZ_ONLY=<index> deno run -A --unstable-kv --unstable-cron bench/fuzz.ts`,
  );
  await Deno.remove(server.dataDir, { recursive: true }).catch(() => {});
}
Deno.exit(failed ? 1 : 0);
