/**
 * CPU cost of the callback attempt history on the hot path (a first delivery that succeeds), in process, on a
 * file-backed data dir (WAL, synchronous=NORMAL as the server runs), no sockets:
 *   - "async transaction": accept a signed async search (createApp(deps).request) and run the worker on it
 *     (claim, process, sign, deliver to an instant receiver, record): CPU per transaction;
 *   - "after-delivery write" (with --write): the state change alone (markCallbackSent) against the same change
 *     in one write with the attempt row (recordAttempt + markCallbackSent), alternating rounds.
 *
 *   deno run -A bench/callback_attempts.ts [N] [--write]
 */
import process from "node:process";
import { testConfig } from "../src/config.ts";
import { closeDeps, openSqliteDeps } from "../src/deps.ts";
import { silentLogger } from "../src/obs/log.ts";
import { createApp } from "../src/app.ts";
import { createWorker } from "../src/actions/worker.ts";
import { getByCorrelationId, markCallbackSent } from "../src/transactions/store.ts";
import { transaction } from "../src/db/sqlite.ts";
import { recordAttempt } from "../src/transactions/attempts.ts";
import { createTestSender } from "../tests/helpers/auth.ts";
import { requestEnvelope } from "../tests/helpers/dci.ts";
import { scriptedHttp, searchMessage, storeBareTransaction } from "../tests/transactions/support.ts";
import { callbackAttempt } from "../tests/helpers/txn_rows.ts";

const n = Number(Deno.args.find((a) => /^\d+$/.test(a)) ?? 2000);
const dir = await Deno.makeTempDir({ prefix: "dci-attempts-" });
// Every POST answered 200 at once: only the server's own work is measured.
const deps = await openSqliteDeps(testConfig({ dataDir: dir, logLevel: "info" }), {
  log: silentLogger,
  http: scriptedHttp(),
});
const cpuMs = (c: { user: number; system: number }) => (c.user + c.system) / 1000;

try {
  const sender = await createTestSender(deps, { limit_minute: 10_000_000, limit_day: 1_000_000_000 });
  const app = createApp(deps);
  const worker = createWorker(deps, { random: () => 0.5 });
  const headers = { "content-type": "application/json", ...sender.headers() };
  const bodies = Array.from({ length: n + 200 }, (_, i) => {
    const env = requestEnvelope(sender.senderId, searchMessage(`b-${i}`), {
      action: "search",
      totalCount: 1,
      header: { sender_uri: "https://receiver.example/cb" },
    });
    return JSON.stringify(sender.sign(env));
  });
  const run = async (from: number, to: number) => {
    const c0 = process.cpuUsage();
    for (let i = from; i < to; i++) {
      const res = await app.request("/registry/search", { method: "POST", headers, body: bodies[i] });
      if (res.status !== 202) throw new Error(`${res.status} ${await res.text()}`);
      const corr = ((await res.json()).message as { correlation_id: string }).correlation_id;
      const row = getByCorrelationId(deps.db, corr)!;
      await worker.handle(row.id);
      if (getByCorrelationId(deps.db, corr)!.state !== "callback_sent") throw new Error("not delivered");
    }
    return cpuMs(process.cpuUsage(c0)) / (to - from);
  };
  await run(0, 200); // warm-up
  const perTxn = await run(200, 200 + n);
  const load = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  console.log(`async transaction (accept + process + deliver), CPU per transaction: ${perTxn.toFixed(3)} ms`);

  if (Deno.args.includes("--write")) {
    const now = new Date().toISOString();
    const ready = (tag: string) =>
      Array.from({ length: n }, (_, i) => {
        const id = storeBareTransaction(deps.db, sender.senderId, `${tag}-${i}`, now);
        deps.db.prepare("UPDATE transactions SET state = 'succeeded', lease_owner = 'o' WHERE id = ?").run(
          id,
        );
        return id;
      });
    const plain = (id: number) => markCallbackSent(deps.db, id, "o", now);
    const withAttempt = (id: number) =>
      transaction(deps.db, () => {
        recordAttempt(deps.db, id, callbackAttempt(now));
        markCallbackSent(deps.db, id, "o", now);
      });
    const time = (ids: number[], fn: (id: number) => void) => {
      const c0 = process.cpuUsage();
      for (const id of ids) fn(id);
      return cpuMs(process.cpuUsage(c0)) * 1000 / ids.length;
    };
    const a: number[] = [];
    const b: number[] = [];
    for (let round = 0; round < 3; round++) {
      a.push(time(ready(`p${round}`), plain));
      b.push(time(ready(`w${round}`), withAttempt));
    }
    const f = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(", ");
    console.log(`after-delivery write, CPU per transaction: state change alone ${f(a)} µs`);
    console.log(`                                          with the attempt row  ${f(b)} µs`);
  }
  console.log(`n = ${n}; load average ${load}`);
} finally {
  closeDeps(deps);
  await Deno.remove(dir, { recursive: true });
}
