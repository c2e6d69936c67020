/** The fuzz target: the real server process with registered senders, an admin token and an expired token. */
import { createPrivateKey, sign } from "node:crypto";
import { Buffer } from "node:buffer";
import { databaseOfDataDir, type ServerProcess, startServerProcess } from "../helpers/server.ts";
import { createServerSender } from "../helpers/auth.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { openPgPool } from "../../src/db/pg/pool.ts";
import { pgAll } from "../../src/db/pg/query.ts";
import type { FuzzContext } from "./cases.ts";
import { checkReceivedText, warmCallbackChecks } from "../helpers/spec_hooks.ts";

/** A running target and its context. */
export interface FuzzTarget {
  server: ServerProcess;
  /** The loopback receiver callbacks go to (answers 200). */
  receiver: Sink;
  ctx: FuzzContext;
}

const BODY_LIMIT = 65_536;

/** Settings that let fuzz traffic reach validation: no rate limits in the way, short callback retries. */
export const FUZZ_ENV: Record<string, string> = {
  DCI_BODY_LIMIT: String(BODY_LIMIT),
  DCI_RATE_LIMIT_MINUTE: "10000000",
  DCI_RATE_LIMIT_DAY: "1000000000",
  DCI_TOKEN_IP_LIMIT_PER_MINUTE: "1000000",
  DCI_CALLBACK_RETRY_DELAYS_MS: "20,20",
  DCI_OUTBOUND_TIMEOUT_MS: "500",
  DCI_SEED_DEMO: "true",
  DCI_DEMO_SIZE: "200",
};

/** An access token of the same client, signed by the server's active key, that expired an hour ago. */
async function expiredToken(dataDir: string, token: string): Promise<string> {
  const row = await activeServerKey(dataDir);
  const [h, p] = token.split(".");
  const claims = JSON.parse(Buffer.from(p, "base64url").toString());
  const now = Math.floor(Date.now() / 1000);
  const payload = Buffer.from(JSON.stringify({ ...claims, iat: now - 7200, exp: now - 3600 })).toString(
    "base64url",
  );
  const key = createPrivateKey({
    key: Buffer.from(row.private_der, "base64"),
    format: "der",
    type: "pkcs8",
  });
  const sig = sign(row.alg === "ed25519" ? null : "sha256", Buffer.from(`${h}.${payload}`), key);
  return `${h}.${payload}.${sig.toString("base64url")}`;
}

/** The server's active signing key, from its data dir's database (PostgreSQL's on the PostgreSQL pass). */
async function activeServerKey(dataDir: string): Promise<{ alg: string; private_der: string }> {
  const sql = "SELECT alg, private_der FROM server_keys WHERE status = 'active'";
  const url = await databaseOfDataDir(dataDir);
  if (url) {
    const pool = openPgPool(url, { max: 1 });
    try {
      return (await pgAll(pool, sql, []))[0] as { alg: string; private_der: string };
    } finally {
      await pool.end();
    }
  }
  const db = openDatabase(`${dataDir}/dci.sqlite`);
  try {
    return db.prepare(sql).get() as { alg: string; private_der: string };
  } finally {
    db.close();
  }
}

/** A loopback callback receiver that answers 200 and counts what it got. */
export interface Sink {
  url: string;
  received: number;
  close(): Promise<void>;
}

/**
 * Starts a sink on 127.0.0.1 (an aborted upload from the server is counted, never thrown). Every complete
 * callback is checked against the spec.
 */
export function startSink(): Sink {
  warmCallbackChecks();
  const sink = { url: "", received: 0, close: () => server.shutdown() };
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    let text: string | undefined;
    try {
      text = await req.text();
      sink.received++;
    } catch { /* the sender gave up */ }
    if (text !== undefined) checkReceivedText(req.url, text);
    return new Response('{"message":{"ack_status":"ACK"}}', {
      headers: { "content-type": "application/json" },
    });
  });
  sink.url = `http://127.0.0.1:${server.addr.port}`;
  return sink;
}

/** Starts the server and registers the senders the generators use. */
export async function startFuzzTarget(env: Record<string, string> = {}): Promise<FuzzTarget> {
  const adminToken = `fuzz-admin-${crypto.randomUUID()}`;
  const receiver = startSink();
  const callbackUri = `${receiver.url}/cb`;
  const server = await startServerProcess({
    env: { ...FUZZ_ENV, DCI_ADMIN_TOKEN: adminToken, DCI_OUTBOUND_ALLOW: "127.0.0.1", ...env },
  });
  try {
    const sender = { ...await createServerSender(server), callbackUri };
    const other = { ...await createServerSender(server), callbackUri };
    const narrow = { ...await createServerSender(server, { scopes: ["registry.receipt"] }), callbackUri };
    return {
      server,
      receiver,
      ctx: {
        url: server.url,
        sender,
        other,
        narrow,
        expiredToken: await expiredToken(server.dataDir, sender.token),
        adminToken,
        bodyLimit: BODY_LIMIT,
      },
    };
  } catch (err) {
    await server.stop();
    await receiver.close();
    throw err;
  }
}

/** `PRAGMA integrity_check` of the server's SQLite file (run after the server stopped). */
export function integrityCheck(dataDir: string): string {
  const db = openDatabase(`${dataDir}/dci.sqlite`);
  try {
    const rows = db.prepare("PRAGMA integrity_check").all() as Array<Record<string, unknown>>;
    return rows.map((r) => String(Object.values(r)[0])).join("; ");
  } finally {
    db.close();
  }
}
