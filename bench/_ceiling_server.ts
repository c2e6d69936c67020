/**
 * The ceiling server (issue 7): a bare `Deno.serve` handler, no Hono, that parses the same signed search
 * request, verifies its Ed25519 envelope signature (node:crypto, cached KeyObject), does one indexed SQLite
 * lookup (identifiers by type and value) and returns a signed response. CEIL_ISOLATES > 1 runs that many Web
 * Workers serving the same port with `reusePort`.
 *
 * Env: CEIL_DB (sqlite file), CEIL_SENDER, CEIL_KID (sender key id), CEIL_PUBKEY (PEM), CEIL_PORT, CEIL_ISOLATES.
 */
import { createPublicKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { DatabaseSync } from "node:sqlite";
import { signEnvelope, verifyEnvelope } from "../src/auth/envelope_signature.ts";

interface CeilingConfig {
  db: string;
  sender: string;
  kid: string;
  pem: string;
  port: number;
}

function serve(cfg: CeilingConfig, reusePort: boolean, onReady: () => void): void {
  const db = new DatabaseSync(cfg.db, { readOnly: true });
  db.exec("PRAGMA busy_timeout = 5000");
  const lookup = db.prepare(
    `SELECT d.data FROM identifiers i JOIN registrant_data d ON d.id = i.registrant_id
     WHERE i.id_value = ? AND i.id_type = ? AND i.live = 1`,
  );
  const senderKey: KeyObject = createPublicKey(cfg.pem);
  const server = {
    kid: "ceiling|k1|ed25519",
    alg: "ed25519" as const,
    privateKey: generateKeyPairSync("ed25519").privateKey,
  };
  const json = { "content-type": "application/json" };
  Deno.serve({ port: cfg.port, hostname: "127.0.0.1", reusePort, onListen: onReady }, async (req) => {
    // deno-lint-ignore no-explicit-any
    let env: any;
    try {
      env = JSON.parse(await req.text());
    } catch {
      return new Response('{"error":"bad json"}', { status: 400, headers: json });
    }
    const now = Date.now();
    const v = verifyEnvelope(env, {
      nowMs: now,
      resolveKey: (s, k, alg) =>
        s === cfg.sender && k === cfg.kid && alg === "ed25519" ? senderKey : undefined,
    });
    if (!v.ok) return new Response(`{"error":"${v.failure.reason}"}`, { status: 401, headers: json });
    const item = env.message.search_request[0];
    const q = item.search_criteria.query;
    const row = lookup.get(String(q.value), String(q.type)) as { data: string } | undefined;
    const message = {
      transaction_id: env.message.transaction_id,
      correlation_id: crypto.randomUUID(),
      search_response: [{
        reference_id: item.reference_id,
        timestamp: new Date(now).toISOString(),
        status: "succ",
        data: {
          version: "1.0.0",
          reg_type: "ns:org:RegistryType:Social",
          reg_record_type: "SRPerson",
          reg_records: row ? [JSON.parse(row.data)] : [],
        },
        pagination: { page_size: 100, page_number: 1, total_count: row ? 1 : 0 },
      }],
    };
    const header = {
      version: "1.0.0",
      message_id: crypto.randomUUID(),
      message_ts: new Date(now).toISOString(),
      action: "on-search",
      status: "succ",
      total_count: 1,
      completed_count: 1,
      sender_id: "ceiling",
      receiver_id: env.header.sender_id,
      is_msg_encrypted: false,
    };
    const signature = signEnvelope({ header, message }, server, { nowMs: now });
    return new Response(JSON.stringify({ signature, header, message }), { headers: json });
  });
}

const self = globalThis as unknown as { onmessage: unknown; postMessage(m: unknown): void };
// import.meta.main is also true in a worker's entry module: workers are told apart by the URL's query.
const inWorker = import.meta.url.endsWith("?worker");
if (import.meta.main && !inWorker) {
  // A stop by signal exits cleanly, so a `--cpu-prof` run writes its profile (bench/load.ts BENCH_PROFILE).
  Deno.addSignalListener("SIGTERM", () => Deno.exit(0));
  const cfg: CeilingConfig = {
    db: Deno.env.get("CEIL_DB")!,
    sender: Deno.env.get("CEIL_SENDER")!,
    kid: Deno.env.get("CEIL_KID")!,
    pem: Deno.env.get("CEIL_PUBKEY")!,
    port: Number(Deno.env.get("CEIL_PORT")),
  };
  const isolates = Number(Deno.env.get("CEIL_ISOLATES") ?? 1);
  const listening = () => console.log(JSON.stringify({ msg: "listening", port: cfg.port, isolates }));
  if (isolates <= 1) {
    serve(cfg, false, listening);
  } else {
    let ready = 0;
    for (let i = 0; i < isolates; i++) {
      const w = new Worker(`${import.meta.url}?worker`, { type: "module" });
      w.onmessage = () => {
        if (++ready === isolates) listening();
      };
      w.postMessage(cfg);
    }
  }
} else if (inWorker) {
  self.onmessage = (e: MessageEvent<CeilingConfig>) => serve(e.data, true, () => self.postMessage("ready"));
}
