/**
 * The notification backlog bench (bench/notifications.ts --events N --subscriptions M [--kill] [--frequency C]):
 * M senders each hold one active `update` subscription; N registry updates are written straight through the
 * store (batched transactions) while no server runs; then the real server (`main.ts serve`, worker on) drains
 * the backlog to M loopback receivers, which verify every `--verify-every`-th envelope signature with the
 * server's JWKS. `--kill` SIGKILLs the server once half of the deliveries are in and starts it again.
 * `--frequency "<cron>"` subscribes with a frequency, so the events arrive as batched notifies.
 *
 * `--dir DIR` keeps the run in DIR (the server's data dir, the receivers' port, every event received, logged before
 * its notify is answered) so that a drain longer than one sitting can be stopped (any signal, or a SIGKILL of the
 * bench and its server) and resumed by running the same command again; the table counts lost, duplicated and
 * out-of-order events over every run. DIR is left for the caller to remove.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import { parseArgs } from "node:util";
import { loadConfig } from "../src/config.ts";
import { closeDeps, openSqliteDeps } from "../src/deps.ts";
import { silentLogger } from "../src/obs/log.ts";
import { transaction } from "../src/db/sqlite.ts";
import { readRegistrant } from "../src/registry/model.ts";
import { saveRegistrant } from "../src/registry/store.ts";
import { addSender } from "../src/senders/store.ts";
import { subscribeProcessor } from "../src/subscriptions/processors.ts";
import { verifyEnvelope } from "../src/auth/envelope_signature.ts";
import type { RequestHeader } from "../src/dci/schemas.ts";
import { cpuMs, fmt, loadAverage, printTable, startRealServer } from "./_lib.ts";

const PERSONS = 1000;
const STALL_MS = 90_000;

/** What a kept run (`--dir`) remembers between runs, in DIR/bench.json. */
interface KeptRun {
  events: number;
  subscriptions: number;
  frequency: string | null;
  port: number;
  setUp: boolean;
  setupMs: number;
  killedAt: number;
  runs: number;
  drainMs: number;
  serverCpuMs: number;
  peakRssMb: number;
}

/** What one receiver saw for its subscription. */
interface Lane {
  seen: Uint8Array; // per event sequence number: received at least once
  distinct: number;
  duplicates: number;
  maxSeq: number;
  outOfOrder: number;
  notifies: number;
}

function personRaw(i: number, seq: number) {
  return {
    id: `b${i}`,
    identifiers: [{ type: "UIN", value: `UB-${i}` }],
    // The event's sequence number travels in the record, so receivers can check order and loss.
    name: { given_name: `S${seq}`, surname: "Bench" },
    sex: seq % 2 ? "male" : "female",
    birth_date: "1980-05-05",
    address: [{ locality: "L", region_code: "R1", country_code: "XX" }],
  };
}

/** Deps on `dataDir` for a bench's set-up (quiet, loopback deliveries allowed, no demo registry). */
export function openBenchDeps(dataDir: string): ReturnType<typeof openSqliteDeps> {
  const config = loadConfig({}, {
    DCI_DATA_DIR: dataDir,
    DCI_LOG_LEVEL: "error",
    DCI_OUTBOUND_ALLOW: "127.0.0.1",
    DCI_SEED_DEMO: "false",
  });
  return openSqliteDeps(config, { log: silentLogger });
}

/** Reads a kept run's state, or undefined when DIR holds none yet. */
function readKept(dir: string): KeptRun | undefined {
  try {
    return JSON.parse(Deno.readTextFileSync(`${dir}/bench.json`));
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

/** Writes a kept run's state whole (a rename, so a kill mid-write leaves the previous one). */
function writeKept(dir: string, kept: KeptRun): void {
  Deno.writeTextFileSync(`${dir}/bench.json.tmp`, JSON.stringify(kept, null, 1));
  Deno.renameSync(`${dir}/bench.json.tmp`, `${dir}/bench.json`);
}

/** Runs the backlog bench with the command-line flags in `args`. */
export async function runBacklogBench(args: string[]): Promise<void> {
  const flags = parseArgs({
    args,
    options: {
      events: { type: "string", default: "100000" },
      subscriptions: { type: "string", default: "20" },
      kill: { type: "boolean", default: false },
      frequency: { type: "string" },
      "verify-every": { type: "string", default: "1" },
      dir: { type: "string" },
    },
  }).values;
  const events = Number(flags.events), subs = Number(flags.subscriptions);
  const verifyEvery = Math.max(1, Number(flags["verify-every"]));
  const dir = flags.dir;
  if (dir) Deno.mkdirSync(dir, { recursive: true });
  const kept: KeptRun = (dir ? readKept(dir) : undefined) ?? {
    events,
    subscriptions: subs,
    frequency: flags.frequency ?? null,
    port: 0,
    setUp: false,
    setupMs: 0,
    killedAt: -1,
    runs: 0,
    drainMs: 0,
    serverCpuMs: 0,
    peakRssMb: 0,
  };
  if (kept.events !== events || kept.subscriptions !== subs || kept.frequency !== (flags.frequency ?? null)) {
    throw new Error(
      `${dir} holds a run of ${kept.events} events × ${kept.subscriptions} subscriptions` +
        `${
          kept.frequency ? ` (frequency "${kept.frequency}")` : ""
        }: run it with the same flags, or remove ${dir}`,
    );
  }
  if (dir && !kept.setUp && readKept(dir) !== undefined) {
    throw new Error(`${dir}: its set-up did not finish; remove ${dir} and start again`);
  }
  const dataDir = dir ? `${dir}/data` : await Deno.makeTempDir({ prefix: "dci-bench-backlog-" });
  const lanes: Lane[] = Array.from({ length: subs }, () => ({
    seen: new Uint8Array(events),
    distinct: 0,
    duplicates: 0,
    maxSeq: -1,
    outOfOrder: 0,
    notifies: 0,
  }));
  let total = 0, badSignatures = 0, verified = 0, lastAt = performance.now(), firstAt = 0;
  /** Counts one received event of subscription `l` (live, or replayed from a kept run's log). */
  const record = (l: number, seq: number) => {
    const lane = lanes[l];
    if (lane.seen[seq]) {
      lane.duplicates++;
      return;
    }
    lane.seen[seq] = 1;
    lane.distinct++;
    total++;
    if (seq < lane.maxSeq) lane.outOfOrder++;
    lane.maxSeq = Math.max(lane.maxSeq, seq);
  };
  // A kept run's receipts: (subscription, event) pairs of 32-bit words, written before each notify is answered.
  let receipts: Deno.FsFile | undefined;
  if (dir) {
    const log = `${dir}/received.u32`;
    let bytes = new Uint8Array(0);
    try {
      bytes = Deno.readFileSync(log);
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
    }
    const whole = bytes.length - (bytes.length % 8); // a pair cut by a kill mid-write is dropped
    const pairs = new Uint32Array(bytes.buffer, 0, whole / 4);
    for (let i = 0; i < pairs.length; i += 2) record(pairs[i], pairs[i + 1]);
    receipts = Deno.openSync(log, { write: true, create: true });
    receipts.truncateSync(whole);
    receipts.seekSync(whole, Deno.SeekMode.Start);
  }
  const totalBefore = total;
  let keys: Map<string, KeyObject> = new Map();
  // Deliveries start before the JWKS is fetched: verification waits for the keys.
  let keysReady: () => void = () => {};
  const haveKeys = new Promise<void>((r) => keysReady = r);
  const rx = Deno.serve({ hostname: "127.0.0.1", port: kept.port, onListen: () => {} }, async (req) => {
    const text = await req.text();
    const l = Number(/^\/s(\d+)\//.exec(new URL(req.url).pathname)?.[1] ?? -1);
    const lane = lanes[l];
    if (!lane) return new Response("{}", { status: 404 });
    const env = JSON.parse(text);
    if (lane.notifies++ % verifyEvery === 0) {
      await haveKeys;
      const v = verifyEnvelope(env, {
        nowMs: Date.now(),
        resolveKey: (s, k, a) => keys.get(`${s}|${k}|${a}`),
      });
      if (v.ok) verified++;
      else if (badSignatures++ < 3) console.error("bad signature:", JSON.stringify(v).slice(0, 300));
    }
    const got = env.message.notify_event as Array<{ data: { reg_records: { name?: unknown } } }>;
    const pairs = new Uint32Array(got.length * 2);
    let n = 0;
    for (const ev of got) {
      const seq = Number(/S(\d+)/.exec(JSON.stringify(ev.data.reg_records.name))?.[1] ?? -1);
      if (seq < 0 || seq >= events) continue;
      record(l, seq);
      pairs[n++] = l;
      pairs[n++] = seq;
    }
    if (receipts && n > 0) {
      const out = new Uint8Array(pairs.buffer, 0, n * 4);
      for (let off = 0; off < out.length;) off += receipts.writeSync(out.subarray(off));
    }
    lastAt = performance.now();
    firstAt ||= lastAt;
    return new Response('{"message":{"ack_status":"ACK"}}', {
      headers: { "content-type": "application/json" },
    });
  });
  kept.port = rx.addr.port;

  if (!kept.setUp) {
    if (dir) writeKept(dir, kept); // from here a half-done set-up is refused, not resumed
    kept.setupMs = await setUpBacklog(dataDir, rx.addr.port, events, subs, flags.frequency);
    kept.setUp = true;
    if (dir) writeKept(dir, kept);
  }

  const expected = events * subs;
  const env = { DCI_WORKER: "true", DCI_OUTBOUND_ALLOW: "127.0.0.1", DCI_LOG_LEVEL: "info" };
  const base = { drainMs: kept.drainMs, serverCpuMs: kept.serverCpuMs };
  let serverCpu = 0;
  kept.runs++;
  const t0 = performance.now();
  const start = async () => {
    const s = await startRealServer(dataDir, env);
    const jwks = await (await fetch(`${s.url}/.well-known/jwks.json`)).json();
    keys = new Map(
      (jwks.keys as Array<{ kid: string }>).map((
        k,
      ) => [k.kid, createPublicKey({ key: k as never, format: "jwk" })]),
    );
    keysReady();
    return s;
  };
  let server = await start();
  /** Brings the kept state up to now (this run's time and CPU on top of the earlier runs'). */
  const keep = () => {
    kept.drainMs = base.drainMs + performance.now() - t0;
    kept.serverCpuMs = base.serverCpuMs + serverCpu + cpuMs(server.pid);
    if (dir) writeKept(dir, kept);
  };
  // A bench stopped by a signal takes its server with it (an orphaned server would go on loading the machine).
  const stopServer = () => {
    try {
      server.child.kill("SIGKILL");
    } catch { /* already gone */ }
    keep();
    Deno.exit(130);
  };
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, stopServer);
  const sample = () => {
    const m = /VmHWM:\s+(\d+) kB/.exec(Deno.readTextFileSync(`/proc/${server.pid}/status`));
    if (m) kept.peakRssMb = Math.max(kept.peakRssMb, Number(m[1]) / 1024);
  };
  let ticks = 0;
  while (total < expected && performance.now() - lastAt < STALL_MS) {
    await new Promise((r) => setTimeout(r, 200));
    sample();
    // Progress on stderr every 10 s, so a long run can be watched (and stopped) without waiting for the table.
    if (++ticks % 50 === 0) {
      keep();
      console.error(`  … ${total} / ${expected} after ${fmt((performance.now() - t0) / 1000)} s`);
    }
    if (flags.kill && kept.killedAt < 0 && total >= expected / 2) {
      kept.killedAt = total;
      serverCpu += cpuMs(server.pid);
      server.child.kill("SIGKILL");
      await server.child.status;
      server = await start();
      lastAt = performance.now();
    }
  }
  const runMs = performance.now() - t0;
  sample();
  keep();
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(sig, stopServer);
  await server.stop();
  await rx.shutdown();
  receipts?.close();
  if (!dir) await Deno.remove(dataDir, { recursive: true }).catch(() => {});

  const lost = lanes.reduce((a, l) => a + (events - l.distinct), 0);
  const dups = lanes.reduce((a, l) => a + l.duplicates, 0);
  const disorder = lanes.reduce((a, l) => a + l.outOfOrder, 0);
  const notifies = lanes.reduce((a, l) => a + l.notifies, 0);
  const runDelivered = total - totalBefore;
  printTable(`bench/notifications backlog: ${fmt(events)} events × ${subs} subscriptions`, [
    { what: "machine load (1/5/15 min)", value: loadAverage() },
    {
      what: "mode",
      value: `${flags.frequency ? `batched (frequency "${flags.frequency}")` : "one notify per event"}${
        flags.kill ? ", SIGKILL + restart at half" : ""
      }${dir ? `, kept in ${dir} (run ${kept.runs})` : ""}`,
    },
    { what: "set-up: subscriptions + events written (s)", value: fmt(kept.setupMs / 1000, 1) },
    { what: "event deliveries expected", value: fmt(expected) },
    {
      what: "delivered (distinct) / lost / duplicated",
      value: `${fmt(total)} / ${fmt(lost)} / ${fmt(dups)}`,
    },
    {
      what: "per subscription delivered min / max",
      value: `${fmt(Math.min(...lanes.map((l) => l.distinct)))} / ${
        fmt(Math.max(...lanes.map((l) => l.distinct)))
      }`,
    },
    { what: "per subscription duplicated max", value: fmt(Math.max(...lanes.map((l) => l.duplicates))) },
    { what: "order kept per subscription", value: disorder === 0 ? "yes" : `NO (${disorder} out of order)` },
    { what: "notify requests received (this run)", value: fmt(notifies) },
    { what: "signatures verified / bad (this run)", value: `${fmt(verified)} / ${fmt(badSignatures)}` },
    ...(dir
      ? [
        {
          what: "this run: delivered, drain time (s)",
          value: `${fmt(runDelivered)}, ${fmt(runMs / 1000, 1)}`,
        },
        { what: "this run: event deliveries/s", value: fmt(runDelivered / (runMs / 1000)) },
      ]
      : []),
    { what: "drain time incl. server start(s) (s)", value: fmt(kept.drainMs / 1000, 1) },
    { what: "event deliveries/s (whole drain)", value: fmt(total / (kept.drainMs / 1000)) },
    {
      what: "event deliveries/s (first to last, this run)",
      value: firstAt ? fmt(runDelivered / ((lastAt - firstAt) / 1000)) : "-",
    },
    {
      what: "server CPU user+sys (s), per delivery (ms)",
      value: `${fmt(kept.serverCpuMs / 1000, 1)}, ${fmt(kept.serverCpuMs / Math.max(1, total), 3)}`,
    },
    { what: "server peak RSS (MB)", value: fmt(kept.peakRssMb) },
    ...(flags.kill ? [{ what: "killed after deliveries", value: fmt(kept.killedAt) }] : []),
  ]);
  if (lost > 0 || disorder > 0 || badSignatures > 0) Deno.exitCode = 1;
}

/**
 * Set-up with the project's own store: M senders each subscribed (callbacks to `/s{i}/` on `port`), then the
 * backlog of events. Answers the time it took (ms).
 */
async function setUpBacklog(
  dataDir: string,
  port: number,
  events: number,
  subs: number,
  frequency: string | undefined,
): Promise<number> {
  const deps = await openBenchDeps(dataDir);
  const tSetup = performance.now();
  try {
    const now = () => new Date().toISOString();
    for (let s = 0; s < subs; s++) {
      const senderId = `bench-${s}`;
      addSender(deps, senderId, { name: senderId, auto_approve_subscriptions: true });
      const criteria = {
        reg_event_type: "update",
        notify_record_type: "person",
        ...(frequency
          ? {
            frequency: {
              start_time: now(),
              end_time: new Date(Date.now() + 86_400_000).toISOString(),
              frequency,
            },
          }
          : {}),
      };
      const header = { sender_id: senderId, sender_uri: `http://127.0.0.1:${port}/s${s}` } as RequestHeader;
      const r = await subscribeProcessor(deps, {
        registry: "social",
        senderId,
        header,
        message: {
          transaction_id: "t",
          subscribe_request: [{ reference_id: "r", timestamp: now(), subscribe_criteria: criteria }],
        },
        transactionId: "t",
        correlationId: crypto.randomUUID(),
      });
      const status = (r.message.subscribe_response as Array<{ status: string }>)[0].status;
      if (status !== "succ") throw new Error(`subscribe failed: ${JSON.stringify(r.message)}`);
    }
    // Registrations first (not subscribed), then N updates in batched transactions.
    for (let i = 0; i < PERSONS; i++) {
      transaction(
        deps.db,
        () =>
          saveRegistrant(deps.db, readRegistrant(personRaw(i, -1), now()), { mode: "upsert", now: now() }),
      );
    }
    for (let k = 0; k < events; k += 1000) {
      transaction(deps.db, () => {
        for (let j = k; j < Math.min(events, k + 1000); j++) {
          const at = now();
          saveRegistrant(deps.db, readRegistrant(personRaw(j % PERSONS, j), at), { mode: "upsert", now: at });
        }
      });
    }
  } finally {
    closeDeps(deps);
  }
  return performance.now() - tSetup;
}
