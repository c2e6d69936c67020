/** New transaction rows for the transaction store tests. */
import type { NewTxn } from "../../src/transactions/store.ts";

/** The start of the store tests' clock. */
export const T0 = Date.parse("2026-01-01T00:00:00Z");

/** `ms` as an ISO timestamp. */
export const iso = (ms: number) => new Date(ms).toISOString();

/** A new search of `sender` with transaction id `tid`, created at T0 + `at` ms, holding `refs`. */
export function newTxn(sender: string, tid: string, at = 0, refs: string[] = []): NewTxn {
  return {
    sender_id: sender,
    transaction_id: tid,
    dedupe_key: tid,
    message_id: `m-${tid}`,
    correlation_id: `c-${sender}-${tid}`,
    action: "search",
    registry: "social",
    callback_url: "https://receiver.example/on-search",
    request_header: JSON.stringify({ message_id: `m-${tid}` }),
    request_message: JSON.stringify({ transaction_id: tid }),
    ack: JSON.stringify({ message: { ack_status: "ACK", correlation_id: `c-${sender}-${tid}` } }),
    reference_ids: refs,
    now: iso(T0 + at),
  };
}
