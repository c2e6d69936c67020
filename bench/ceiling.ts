/**
 * The machine's ceiling for signed sync search (issue 7 item 1): bench/_ceiling_server.ts (bare Deno.serve:
 * parse, Ed25519 verify, one indexed SQLite lookup on the seeded registry, signed response) under the same
 * load generator, connections and duration as the real server (bench/load.ts), with one and two isolates.
 *
 *   deno run -A bench/ceiling.ts              # 100,000 persons, 64 connections, 30 s per run
 *   BENCH_QUICK=1 deno run -A bench/ceiling.ts
 */
import { generateKeyPairSync, type KeyObject } from "node:crypto";
import { signEnvelope } from "../src/auth/envelope_signature.ts";
import {
  type BodySigner,
  fmt,
  GENERATOR_THREADS,
  type LoadResult,
  loadSettings,
  printTable,
  runLoad,
  sampleUins,
  seededDataDir,
  spawnServer,
  writeBodies,
} from "./_lib.ts";

/** A sender identity for the load: its signer plus its public key (PEM) and key id. */
export interface LoadSender extends BodySigner {
  keyId: string;
  publicKey: KeyObject;
}

/** A fresh Ed25519 sender that is not registered anywhere (enough for the ceiling, which trusts one key). */
export function localSender(senderId = "bench-sender", keyId = "k1"): LoadSender {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const key = { kid: `${senderId}|${keyId}|ed25519`, alg: "ed25519" as const, privateKey };
  return {
    senderId,
    keyId,
    publicKey,
    sign: (envelope, nowMs) => ({
      ...envelope,
      signature: signEnvelope(envelope, key, { nowMs: nowMs ?? Date.now() }),
    }),
  };
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/**
 * The Authorization header of the ceiling's requests when the server's own token is not at hand (bench/ceiling.ts
 * alone, the PostgreSQL mode of bench/load.ts): a stand-in as long as the server's access tokens (540 characters:
 * an Ed25519 JWT with the server's claims). The ceiling ignores it, but the requests must be as long as the
 * server's: Deno.serve takes a body whole only for a request of up to about 1 KB here and reads a longer
 * request's body through a stream, ~15 µs more a request in a bare server. With `Bearer none` the ceiling's
 * requests (~0.8 KB) took the short way and the server's (~1.3 KB) never could.
 */
export const STAND_IN_AUTHORIZATION = `Bearer ${"x".repeat(540)}`;

/** Measures the ceiling server with `isolates` isolates on `dataDir`'s registry. */
export async function measureCeiling(opts: {
  dataDir: string;
  sender: LoadSender;
  /** The Authorization header of the requests: the server's own (bench/load.ts), else STAND_IN_AUTHORIZATION. */
  authorization?: string;
  uins: string[];
  isolates: number;
  connections: number;
  seconds: number;
  workDir: string;
  /** Extra deno flags (`--cpu-prof --cpu-prof-dir=…` for bench/load.ts's BENCH_PROFILE). */
  flags?: string[];
}): Promise<LoadResult> {
  const port = freePort();
  const script = new URL("_ceiling_server.ts", import.meta.url).pathname;
  const served = await spawnServer(["run", "-A", ...opts.flags ?? [], script], {
    CEIL_DB: `${opts.dataDir}/dci.sqlite`,
    CEIL_SENDER: opts.sender.senderId,
    CEIL_KID: opts.sender.keyId,
    CEIL_PUBKEY: opts.sender.publicKey.export({ format: "pem", type: "spki" }) as string,
    CEIL_PORT: String(port),
    CEIL_ISOLATES: String(opts.isolates),
  }, { waitPort: port });
  try {
    // The ceiling has no replay guard, so a pool of bodies is cycled; signed just before the run.
    const prefix = `${opts.workDir}/ceiling-${opts.isolates}`;
    await writeBodies(opts.sender, opts.uins, 20_000, prefix, GENERATOR_THREADS);
    const check = await fetch(`${served.url}/registry/sync/search`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: (await Deno.readTextFile(`${prefix}.0.ndjson`)).split("\n")[0],
    });
    const answer = await check.json();
    if (check.status !== 200 || answer.message.search_response[0].data.reg_records.length !== 1) {
      throw new Error(`ceiling server answered ${check.status}: ${JSON.stringify(answer).slice(0, 300)}`);
    }
    return await runLoad({
      url: served.url,
      authorization: opts.authorization ?? STAND_IN_AUTHORIZATION,
      prefix,
      connections: opts.connections,
      seconds: opts.seconds,
    });
  } finally {
    await served.stop();
  }
}

/** One table row for a load result, with ratios to a reference when given. */
export function resultRow(name: string, r: LoadResult, ceiling?: LoadResult): Record<string, string> {
  const ratio = (a: number, b: number | undefined) => b ? `${fmt(a / b, 2)}` : "";
  return {
    measure: name,
    "req/s": fmt(r.rps),
    "ratio req/s": ratio(r.rps, ceiling?.rps),
    "p50 ms": fmt(r.p50Ms, 2),
    "ratio p50": ratio(r.p50Ms, ceiling?.p50Ms),
    "p99 ms": fmt(r.p99Ms, 2),
    "ratio p99": ratio(r.p99Ms, ceiling?.p99Ms),
    errors: String(r.errors),
    requests: String(r.requests),
    "server CPU ms/req": r.cpuMsPerRequest === undefined ? "" : fmt(r.cpuMsPerRequest, 3),
    // Of the 2 cores' 2,000 ms per second: what the generator took is not there for the server (or the ceiling).
    "generator CPU ms/s": fmt(r.generatorCpuMsPerSecond),
    loadavg: r.loadavg,
  };
}

if (import.meta.main) {
  const s = loadSettings();
  const dataDir = await seededDataDir(s.persons);
  const workDir = await Deno.makeTempDir({ prefix: "dci-bench-ceiling-" });
  try {
    const sender = localSender();
    const uins = sampleUins(dataDir, 5000);
    const base = { dataDir, sender, uins, connections: s.connections, seconds: s.seconds, workDir };
    const one = await measureCeiling({ ...base, isolates: 1 });
    const two = await measureCeiling({ ...base, isolates: 2 });
    printTable(
      `ceiling: bare Deno.serve, Ed25519 verify + 1 indexed lookup + signed response (${s.persons} persons, ` +
        `${s.connections} connections, ${s.seconds} s, ${one.generator})`,
      [resultRow("ceiling, 1 isolate", one), resultRow("ceiling, 2 isolates", two, one)],
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
    await Deno.remove(workDir, { recursive: true }).catch(() => {});
  }
}
