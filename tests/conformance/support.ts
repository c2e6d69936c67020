/** Shared pieces of the issue 12 conformance tests: a minimal search request and posting it in process. */
import type { createApp } from "../../src/app.ts";
import { type RequestEnvelope, requestEnvelope } from "../helpers/dci.ts";
import type { PyValue } from "./python_json.ts";

/** A search request header as a Python client dumps it, at `ts`, with `fields` (nulls, meta, counts) on top. */
export function pyHeader(
  senderId: string,
  ts: string,
  fields: Record<string, PyValue>,
): Record<string, PyValue> {
  return {
    version: "1.0.0",
    message_id: crypto.randomUUID(),
    message_ts: ts,
    action: "search",
    sender_id: senderId,
    total_count: 1,
    is_msg_encrypted: false,
    ...fields,
  };
}

/** A sync search envelope from `senderId` with one idtype-value item that matches nobody. */
export function nobodySearch(senderId: string, nowMs: number): RequestEnvelope {
  return requestEnvelope(senderId, {
    transaction_id: "t1",
    search_request: [{
      reference_id: "r1",
      timestamp: new Date(nowMs).toISOString(),
      search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "nobody" } },
    }],
  }, { nowMs, totalCount: 1 });
}

/**
 * POSTs `body` (an object, or the exact text to send) to `path` (default the sync search) with the sender's
 * bearer headers; returns the status and the parsed answer.
 */
export async function postApp(
  app: ReturnType<typeof createApp>,
  headers: Record<string, string>,
  body: unknown,
  path = "/registry/sync/search",
  // deno-lint-ignore no-explicit-any
): Promise<{ status: number; body: any }> {
  const res = await app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  return { status: res.status, body: await res.json() };
}
