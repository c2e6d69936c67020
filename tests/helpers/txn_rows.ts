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

/**
 * A notification `n` of a fresh active subscription (sender alice), in `status`, created at `at`, of event
 * `eventId`, written with `sql` (a test's raw SQL on either backend; typed here without importing the backend
 * helpers, which would put every file importing this one on the PostgreSQL pass's list: tests/run.ts).
 */
export async function notificationRow(
  sql: (text: string, values?: Array<string | number>) => Promise<Record<string, unknown>[]>,
  n: string,
  status: string,
  at: string,
  eventId = 1,
): Promise<void> {
  const [sub] = await sql(
    `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
       dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at)
     VALUES (?, 'alice', 'social', 'registration', 'person', 'Person', ?, 'https://a.example/n', 'active', ?, ?, ?, ?)
     RETURNING id`,
    [`s-${n}`, `d-${n}`, `c-${n}`, `r-${n}`, at, at],
  );
  await sql(
    `INSERT INTO notifications (notification_id, subscription_id, event_id, event_type, record_type,
       record_count, message_id, status, next_attempt_at, created_at, updated_at)
     VALUES (?, ?, ?, 'registration', 'person', 1, ?, ?, ?, ?, ?)`,
    [n, Number(sub.id), eventId, `m-${n}`, status, at, at, at],
  );
}
