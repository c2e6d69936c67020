/** New transaction rows for the transaction store tests. */
import type { NewTxn, StatusScope } from "../../src/transactions/store.ts";
import type { Storage } from "../../src/db/storage.ts";
import type { NewAttempt } from "../../src/transactions/attempts.ts";

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

/** A status query's scope: `sender`'s transactions on `registry` (social) since T0 (every row these helpers make). */
export function scope(sender: string, registry = "social", since = iso(T0)): StatusScope {
  return { senderId: sender, registry, since };
}

/** Claims transaction `id` for processing as `owner` and stores a succ result at T0 + `at`: its callback is due. */
export async function processed(s: Storage, id: number, at = 0, owner = `p-${id}`): Promise<void> {
  const claimed = await s.transactions.claimProcessing(id, owner, iso(T0 + at), iso(T0 + at + 60_000));
  if (!claimed) throw new Error(`transaction ${id} could not be claimed`);
  const result = {
    outcome: "succ" as const,
    totalCount: 0,
    completedCount: 0,
    result: "{}",
    callbackMessageId: "m",
  };
  if (!await s.transactions.completeProcessing(id, owner, result, iso(T0 + at))) {
    throw new Error(`transaction ${id} was not completed`);
  }
}

/** A callback attempt started at `startedAt`: by default one the receiver took (HTTP 200); `over` replaces fields. */
export function callbackAttempt(startedAt: string, over: Partial<NewAttempt> = {}): NewAttempt {
  return {
    started_at: startedAt,
    duration_ms: 3,
    url: "https://receiver.example/cb",
    outcome: "sent",
    http_status: 200,
    receiver_code: null,
    error: null,
    ...over,
  };
}
