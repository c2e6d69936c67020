/**
 * Shared steps of the spec-exactness tests: an in-process harness (tests/transactions/support.ts, whose app and
 * outbound client check every answer and callback against the spec) and a POST of a hand-made envelope, so a
 * test can send the same message twice or give it any header.
 */
import { type Harness, harness } from "../transactions/support.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import type { TestSender } from "../helpers/auth.ts";
import type { Config } from "../../src/config.ts";

// deno-lint-ignore no-explicit-any
export type Json = any;

export type { Harness };

/** A harness whose callbacks may go to loopback (`options` as harness(): processors, a scripted edge). */
export function specHarness(
  overrides: Partial<Record<keyof Config, string>> = {},
  options: Parameters<typeof harness>[1] = {},
): Promise<Harness> {
  return harness({ outboundAllow: "127.0.0.1", ...overrides }, options);
}

/** A signed envelope of `sender` (default alice) with `header` fields set or overridden. */
export function envelope(
  h: Harness,
  message: Record<string, unknown>,
  options: { action: string; header?: Record<string, unknown>; totalCount?: number; sender?: TestSender },
): Json {
  const sender = options.sender ?? h.alice;
  const env = requestEnvelope(sender.senderId, message, {
    action: options.action,
    nowMs: h.deps.clock.now(),
    totalCount: options.totalCount ?? 1,
    header: { sender_uri: "https://alice.example/cb", ...options.header },
  });
  return sender.sign(env, h.deps.clock.now());
}

/** POSTs an envelope as `sender` (default alice) and returns the status and the parsed answer. */
export async function send(
  h: Harness,
  path: string,
  env: Json,
  sender: TestSender = h.alice,
): Promise<{ status: number; body: Json }> {
  const res = await h.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...sender.headers() },
    body: JSON.stringify(env),
  });
  return { status: res.status, body: await res.json() };
}

/** A search message with one item per reference id. */
export function searchOf(transactionId: string, refs: string[], extra: Record<string, unknown> = {}) {
  return {
    transaction_id: transactionId,
    search_request: refs.map((ref) => ({
      reference_id: ref,
      timestamp: "2026-01-01T00:00:00Z",
      search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: `nobody-${ref}` } },
      ...extra,
    })),
  };
}

/** A txn status message asking for `transactionId`. */
export function txnStatusOf(transactionId: string, extra: Record<string, unknown> = {}) {
  return {
    transaction_id: `q-${transactionId}`,
    txnstatus_request: {
      reference_id: "q-ref-1",
      txn_type: "search",
      attribute_type: "transaction_id",
      attribute_value: transactionId,
      ...extra,
    },
  };
}
