/**
 * A partner for the per-sender settings tests: in-process deps whose deliveries go through the real
 * SSRF-guarded client to a real loopback receiver that behaves like OpenSPP's (a bearer token required, an
 * OAuth2 client-credentials token endpoint, ACK or ERR answers), with the server's log lines captured.
 */
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender, type TestSenderOptions } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { type MemoryQueue, memoryQueue } from "../../src/jobs/queue.ts";
import { createApp } from "../helpers/app.ts";
import type { TxnWorker } from "../../src/transactions/worker.ts";
import { createWorker as createTxnWorker } from "../../src/actions/worker.ts";
import { createLogger } from "../../src/obs/log.ts";
import type { Config } from "../../src/config.ts";

/** One request the receiver got. */
export interface Hit {
  path: string;
  authorization: string | null;
  body: Record<string, unknown>;
  form?: URLSearchParams;
}

/** What the receiver answers: a status and a JSON body. */
export interface Answer {
  status: number;
  body?: unknown;
}

/** A DCI ACK body. */
export function ack(): Record<string, unknown> {
  return { message: { ack_status: "ACK", timestamp: new Date().toISOString(), correlation_id: "c-1" } };
}

/** A DCI ERR body with `code` (and a message the server must never keep or show). */
export function errAck(code: string, message = "RECEIVER-SECRET-DETAIL"): Record<string, unknown> {
  return {
    message: {
      ack_status: "ERR",
      timestamp: new Date().toISOString(),
      correlation_id: "c-1",
      error: { code, message },
    },
  };
}

/** A running partner receiver on 127.0.0.1. */
export interface PartnerReceiver {
  url: string;
  hits: Hit[];
  /** Token requests seen at `/token`. */
  tokenRequests: URLSearchParams[];
  /** Answers for the DCI endpoints (default: 200 ACK). */
  respond: (hit: Hit) => Answer;
  close(): Promise<void>;
}

/**
 * Starts a receiver. With `bearer`, every DCI endpoint requires `Authorization: Bearer <bearer>` or one of the
 * tokens its `/token` endpoint issued (client credentials `client`), else answers 401. Issued tokens are
 * `tok-1`, `tok-2`, … with `expires_in` as given; `revoked` tokens are refused.
 */
export function startPartnerReceiver(options: {
  bearer?: string;
  client?: { id: string; secret: string };
  expiresIn?: number;
} = {}): PartnerReceiver & { issued: string[]; revoked: Set<string> } {
  const issued: string[] = [];
  const revoked = new Set<string>();
  const r = {
    url: "",
    hits: [] as Hit[],
    tokenRequests: [] as URLSearchParams[],
    issued,
    revoked,
    respond: (_: Hit): Answer => ({ status: 200, body: ack() }),
    close: async () => await server.shutdown(),
  };
  const json = (status: number, body: unknown) =>
    new Response(body === undefined ? null : JSON.stringify(body), {
      status,
      headers: { "content-type": "application/json" },
    });
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const path = new URL(req.url).pathname;
    const text = await req.text();
    if (path === "/token") {
      const form = new URLSearchParams(text);
      r.tokenRequests.push(form);
      const c = options.client;
      if (
        !c || form.get("grant_type") !== "client_credentials" || form.get("client_id") !== c.id ||
        form.get("client_secret") !== c.secret
      ) {
        return json(401, {
          error: "invalid_client",
          error_description: `bad secret ${form.get("client_secret")}`,
        });
      }
      const token = `tok-${issued.length + 1}`;
      issued.push(token);
      return json(200, { access_token: token, token_type: "bearer", expires_in: options.expiresIn ?? 3600 });
    }
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text);
    } catch { /* kept empty */ }
    const hit: Hit = { path, authorization: req.headers.get("authorization"), body };
    r.hits.push(hit);
    if (options.bearer !== undefined || options.client) {
      const given = /^Bearer (.+)$/.exec(hit.authorization ?? "")?.[1];
      const ok = given !== undefined && !revoked.has(given) &&
        (given === options.bearer || issued.includes(given));
      if (!ok) return json(401, { detail: "Your token could not be authenticated." });
    }
    const answer = r.respond(hit);
    return json(answer.status, answer.body);
  });
  r.url = `http://127.0.0.1:${server.addr.port}`;
  return r;
}

/** In-process server deps whose outbound calls may reach loopback, with captured logs, a queue and a worker. */
export interface PartnerHarness {
  deps: TestDeps & { queue: MemoryQueue };
  app: ReturnType<typeof createApp>;
  worker: TxnWorker;
  /** Every log line the server wrote (JSON text). */
  logs: string[];
  /** Registers a sender (key, client, token) with the given settings. */
  sender(options?: TestSenderOptions): Promise<TestSender>;
  /** POSTs an envelope; `signature` "sign" signs it, a string is sent as the signature, undefined sends none. */
  post(
    path: string,
    sender: TestSender,
    envelope: { header: Record<string, unknown>; message: Record<string, unknown> },
    signature?: "sign" | string,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** A fresh request envelope from `sender`. */
  envelope(
    sender: TestSender,
    message: Record<string, unknown>,
    header?: Record<string, unknown>,
  ): { header: Record<string, unknown>; message: Record<string, unknown> };
  /** Calls the admin API as an admin; `text` is the raw answer (to check what it never shows). */
  admin(
    method: "GET" | "POST" | "PATCH",
    path: string,
    body?: unknown,
  ): Promise<
    {
      status: number;
      body: Record<string, unknown> & { message?: { error: { message: string } } };
      text: string;
    }
  >;
  /** Runs every due queue message through the worker. */
  drain(): Promise<number>;
  close(): void;
}

/** Builds the harness. */
export async function partnerHarness(
  overrides: Partial<Record<keyof Config, string>> = {},
): Promise<PartnerHarness> {
  const deps = await testDeps({ outboundAllow: "127.0.0.1", ...overrides }) as TestDeps & {
    queue: MemoryQueue;
  };
  const logs: string[] = [];
  deps.log = createLogger("debug", { sink: (line) => logs.push(line) });
  deps.queue = memoryQueue(deps.clock);
  const app = createApp(deps);
  const worker = createTxnWorker(deps, { random: () => 0.5 });
  let adminToken: string | undefined;
  return {
    deps,
    app,
    worker,
    logs,
    sender: (options = {}) => createTestSender(deps, options),
    envelope: (sender, message, header = {}) =>
      requestEnvelope(sender.senderId, message, { nowMs: deps.clock.now(), header }),
    async post(path, sender, envelope, signature) {
      const body = signature === "sign"
        ? sender.sign(envelope, deps.clock.now())
        : signature === undefined
        ? envelope
        : { signature, ...envelope };
      const res = await app.request(path, {
        method: "POST",
        headers: { "content-type": "application/json", ...sender.headers() },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() };
    },
    async admin(method, path, body) {
      adminToken ??= (await deps.storage.adminTokens.create({ role: "admin" })).token;
      const res = await app.request(`/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await res.text();
      return { status: res.status, body: JSON.parse(text), text };
    },
    drain: () => deps.queue.deliverDue((m) => worker.handle(Number(m.id))),
    close: () => deps.close(),
  };
}

/** A one-item subscribe message for every registration of a person. */
export function subscribeMessage(transactionId: string): Record<string, unknown> {
  return {
    transaction_id: transactionId,
    subscribe_request: [{
      reference_id: `${transactionId}-0`,
      timestamp: new Date().toISOString(),
      subscribe_criteria: { reg_event_type: "registration", notify_record_type: "person" },
    }],
  };
}

/** A one-item idtype-value search message. */
export function searchMessage(transactionId: string, total = 1): Record<string, unknown> {
  return {
    transaction_id: transactionId,
    search_request: Array.from({ length: total }, (_, i) => ({
      reference_id: `${transactionId}-${i}`,
      timestamp: new Date().toISOString(),
      search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: `nobody-${i}` } },
    })),
  };
}
