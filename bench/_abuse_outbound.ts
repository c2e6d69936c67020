/**
 * Abuse bench, outbound part (issue 11 item 8): sender A sends BENCH_ABUSE_CALLBACKS (default 48) async
 * searches whose callbacks go to a loopback endpoint that accepts and never answers; meanwhile sender B sends
 * BENCH_ABUSE_PROBES (default 5) async searches, one after another, to a healthy loopback receiver. Measured:
 * the time from B's ACK to its callback's arrival (worst of the probes), on an idle server and under the abuse.
 * Target: < 1 s. The real server runs with its defaults (16 outbound slots, 10 s timeout) unless the
 * environment says otherwise.
 *
 *   deno run -A bench/abuse.ts outbound
 */
import { startServerProcess } from "../tests/helpers/server.ts";
import { createServerSender, type TestSender } from "../tests/helpers/auth.ts";
import { startSilentReceiver } from "../tests/helpers/silent_receiver.ts";
import { send } from "../tests/transactions/e2e_support.ts";
import { searchMessage } from "../tests/transactions/support.ts";
import { type AbuseRow, benchServerFlags, loadAverage } from "./_lib.ts";

const CALLBACKS = Number(Deno.env.get("BENCH_ABUSE_CALLBACKS") ?? 48);
const PROBES = Number(Deno.env.get("BENCH_ABUSE_PROBES") ?? 5);
const TARGET_MS = 1000;

/** A healthy receiver that notes when each transaction's callback arrives (by X-DCI-Transaction-ID). */
function timedReceiver() {
  const arrived = new Map<string, number>();
  const waiters = new Map<string, (at: number) => void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    await req.arrayBuffer();
    const id = req.headers.get("x-dci-transaction-id") ?? "";
    const at = performance.now();
    arrived.set(id, at);
    waiters.get(id)?.(at);
    return Response.json({ message: { ack_status: "ACK" } });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/`,
    /** Resolves with the arrival time of `id`'s callback. */
    arrival: (id: string) =>
      arrived.has(id) ? Promise.resolve(arrived.get(id)!) : new Promise<number>((r) => waiters.set(id, r)),
    close: () => server.shutdown(),
  };
}

type Server = Awaited<ReturnType<typeof startServerProcess>>;

/** Sends `PROBES` searches from `b`, one after another; the worst ACK → callback time in ms. */
async function probe(server: Server, b: TestSender, rx: ReturnType<typeof timedReceiver>, tag: string) {
  let worst = 0;
  for (let i = 0; i < PROBES; i++) {
    const id = `probe-${tag}-${i}`;
    const res = await send(server, b, "/registry/search", searchMessage(id), rx.url);
    if (res.status !== 202) {
      throw new Error(`probe ${id} answered ${res.status}: ${JSON.stringify(res.body)}`);
    }
    const acked = performance.now();
    const at = await Promise.race([
      rx.arrival(id),
      new Promise<number>((r) => setTimeout(() => r(Infinity), 60_000)),
    ]);
    worst = Math.max(worst, at - acked);
  }
  return worst;
}

/** Runs the scenario on a fresh real server; one row. */
export async function runAbuseOutbound(): Promise<AbuseRow[]> {
  const silent = startSilentReceiver();
  const rx = timedReceiver();
  const server = await startServerProcess({
    denoFlags: benchServerFlags(),
    env: {
      DCI_WORKER: "true",
      DCI_OUTBOUND_ALLOW: "127.0.0.1",
      DCI_RATE_LIMIT_MINUTE: "10000000",
      DCI_RATE_LIMIT_DAY: "1000000000",
      DCI_LOG_LEVEL: "info",
    },
  });
  try {
    const a = await createServerSender(server);
    const b = await createServerSender(server);
    const idle = await probe(server, b, rx, "idle");
    for (let i = 0; i < CALLBACKS; i++) {
      const res = await send(server, a, "/registry/search", searchMessage(`abuse-${i}`), `${silent.url}/`);
      if (res.status !== 202) throw new Error(`abuse search ${i} answered ${res.status}`);
    }
    await silent.waitHeld(1);
    const abused = await probe(server, b, rx, "abused");
    const held = silent.held();
    const ended = silent.closedByClient();
    return [{
      measure: "other sender's callback (ACK → arrival, worst of " + PROBES + ")",
      target: `< ${TARGET_MS} ms`,
      idle,
      abused,
      unit: "ms",
      met: abused < TARGET_MS,
      note: `${CALLBACKS} callbacks of sender A to an endpoint that never answers; ` +
        `it held ${held} connections (${ended} given up) when B's last callback arrived; load ${loadAverage()}`,
    }];
  } finally {
    await server.stop();
    await silent.close();
    await rx.close();
  }
}
