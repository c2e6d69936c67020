/** Shared fixtures for the transactions tests: in-process deps with a memory queue and a scripted HTTP edge. */
import { createPublicKey } from "node:crypto";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { type MemoryQueue, memoryQueue } from "../../src/jobs/queue.ts";
import type { OutboundClient, OutboundRequest, OutboundResponse } from "../../src/net/outbound.ts";
import { createApp } from "../helpers/app.ts";
import type { TxnWorker } from "../../src/transactions/worker.ts";
import {
  createWorker as createTxnWorker,
  type WorkerOverrides as WorkerOptions,
} from "../../src/actions/worker.ts";
import { verifyEnvelope } from "../../src/auth/envelope_signature.ts";
import type { Config } from "../../src/config.ts";
import type { Db } from "../../src/db/sqlite.ts";
import { insertTransaction, type NewTxn } from "../../src/transactions/store.ts";

/** One request the fake HTTP edge received. */
export interface Sent {
  url: string;
  init: OutboundRequest;
  body: Record<string, unknown>;
}

/** A scripted outbound client: answers each POST with the next status (or throws), records everything. */
export function scriptedHttp(
  script: Array<number | Error> = [],
): OutboundClient & { sent: Sent[]; script: Array<number | Error> } {
  const sent: Sent[] = [];
  const client = {
    sent,
    script,
    check: () => Promise.resolve(),
    request(url: string, init: OutboundRequest): Promise<OutboundResponse> {
      sent.push({ url, init, body: JSON.parse(init.body ?? "{}") });
      const next = client.script.length > 0 ? client.script.shift()! : 200;
      if (next instanceof Error) return Promise.reject(next);
      return Promise.resolve({
        status: next,
        headers: new Headers(),
        body: new Uint8Array(),
        text: () => "",
      });
    },
  };
  return client;
}

/** Everything an in-process transactions test needs. */
export interface Harness {
  deps: TestDeps & { queue: MemoryQueue };
  http: ReturnType<typeof scriptedHttp>;
  app: ReturnType<typeof createApp>;
  worker: TxnWorker;
  alice: TestSender;
  /** POSTs a signed envelope from `sender` (default alice) to `path`. */
  post(
    path: string,
    message: Record<string, unknown>,
    options?: PostOptions,
  ): Promise<{ status: number; body: Record<string, unknown> }>;
  /** Delivers every due queue message to the worker. */
  drain(): Promise<number>;
  close(): void;
}

/** Options of `Harness.post`. */
export interface PostOptions {
  sender?: TestSender;
  action?: string;
  senderUri?: string;
}

/** Builds the harness: fresh deps, memory queue, scripted HTTP, a registered sender "alice". */
export async function harness(
  overrides: Partial<Record<keyof Config, string>> = {},
  options: WorkerOptions & { script?: Array<number | Error> } = {},
): Promise<Harness> {
  const deps = await testDeps(overrides) as TestDeps & { queue: MemoryQueue };
  const http = scriptedHttp(options.script);
  deps.http = http;
  deps.queue = memoryQueue(deps.clock);
  const app = createApp(deps);
  const worker = createTxnWorker(deps, { random: () => 0.5, ...options });
  const alice = await createTestSender(deps);
  return {
    deps,
    http,
    app,
    worker,
    alice,
    async post(path, message, o = {}) {
      const sender = o.sender ?? alice;
      const env = requestEnvelope(sender.senderId, message, {
        action: o.action ?? defaultAction(path),
        nowMs: deps.clock.now(),
        totalCount: itemCount(message),
        header: { sender_uri: o.senderUri ?? "https://alice.example/cb" },
      });
      const res = await app.request(path, {
        method: "POST",
        headers: { "content-type": "application/json", ...sender.headers() },
        body: JSON.stringify(sender.sign(env, deps.clock.now())),
      });
      return { status: res.status, body: await res.json() };
    },
    drain: () => deps.queue.deliverDue((m) => worker.handle(Number(m.id))),
    close: () => deps.close(),
  };
}

/** The number of items in a message's request list (what header.total_count must say). */
export function itemCount(message: Record<string, unknown>): number {
  for (const key of ["search_request", "subscribe_request", "subscription_codes"]) {
    if (Array.isArray(message[key])) return (message[key] as unknown[]).length;
  }
  return 1;
}

function defaultAction(path: string): string {
  if (path.endsWith("/txn/status")) return "txn-status";
  return path.split("/").pop()!;
}

/** A search message with `n` items. */
export function searchMessage(transactionId: string, n = 1): Record<string, unknown> {
  return {
    transaction_id: transactionId,
    search_request: Array.from({ length: n }, (_, i) => ({
      reference_id: `${transactionId}-ref-${i}`,
      timestamp: new Date().toISOString(),
      search_criteria: {
        reg_type: "ns:org:RegistryType:Social",
        query_type: "idtype-value",
        query: { type: "UIN", value: `nobody-${i}` },
      },
    })),
  };
}

/** Verifies a callback envelope against the server's JWKS (as a receiver would). */
export function verifyWithJwks(
  envelope: Record<string, unknown>,
  jwks: { keys: Array<Record<string, unknown>> },
  nowMs: number,
): boolean {
  const result = verifyEnvelope(envelope as { header: unknown; message: unknown; signature?: unknown }, {
    nowMs,
    resolveKey: (senderId, keyId, alg) => {
      const jwk = jwks.keys.find((k) => k.kid === `${senderId}|${keyId}|${alg}`);
      return jwk ? createPublicKey({ key: jwk as never, format: "jwk" }) : undefined;
    },
  });
  return result.ok;
}

/** Parsed JSON bodies in assertions (tests read deep paths; a wrong path fails the assertion anyway). */
// deno-lint-ignore no-explicit-any
export type Json = any;

/** The row of a bare search transaction `t` of `senderId` (ids derived from `t`, empty request). */
function bareTransaction(senderId: string, t: string, now: string): NewTxn {
  return {
    sender_id: senderId,
    transaction_id: t,
    dedupe_key: t,
    message_id: `m-${t}`,
    correlation_id: `c-${t}`,
    action: "search",
    registry: "social",
    callback_url: "https://receiver.example/cb",
    request_header: "{}",
    request_message: "{}",
    ack: "{}",
    reference_ids: [],
    now,
  };
}

/** Stores a bare search transaction `t` of `senderId` straight into an embedded SQLite database (benchmarks). */
export function storeBareTransaction(db: Db, senderId: string, t: string, now: string): number {
  return insertTransaction(db, bareTransaction(senderId, t, now)).row.id;
}

/** Saves a bare search transaction `t` of `senderId` through the test deps' transaction store, either backend. */
export async function saveBareTransaction(
  deps: TestDeps,
  senderId: string,
  t: string,
  now: string,
): Promise<number> {
  return (await deps.storage.transactions.insert(bareTransaction(senderId, t, now))).row.id;
}

/**
 * Stores a bulk search of `senderId`'s (alice's by default) with `n` lookups, one a page, as an accepted upload
 * leaves it; its pages go to `https://{senderId}.example/cb`.
 */
export async function storeBulkSearch(
  h: Harness,
  transactionId: string,
  n: number,
  senderId = h.alice.senderId,
): Promise<number> {
  const spool = `${crypto.randomUUID()}.lookups`;
  const writer = await h.deps.storage.spools.create(spool);
  for (let i = 1; i <= n; i++) writer.line(JSON.stringify([String(i), "UIN", `NOBODY-${i}`]));
  await writer.commit();
  const message = {
    transaction_id: transactionId,
    bulk_file: { file_name: "l.csv", file_format: "csv", items: n },
  };
  const { row } = await h.deps.storage.transactions.insert({
    sender_id: senderId,
    transaction_id: transactionId,
    dedupe_key: transactionId,
    message_id: crypto.randomUUID(),
    correlation_id: crypto.randomUUID(),
    action: "search",
    registry: "social",
    callback_url: `https://${senderId}.example/cb/registry/on-search`,
    request_header: "{}",
    request_message: JSON.stringify(message),
    ack: "{}",
    reference_ids: [],
    now: new Date(h.deps.clock.now()).toISOString(),
  }, { spool, file_name: "l.csv", file_format: "csv", items_total: n, page_size: 1 });
  return row.id;
}
