/** Operator views and actions on transactions, shared by the admin API and the CLI. */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { dciStatus } from "./states.ts";
import type { TxnFilter, TxnListRow, TxnRow, TxnWithResult } from "./store.ts";
import { TXN_KIND } from "./worker.ts";
import { getSender } from "../senders/store.ts";
import type { CallbackAttempt } from "./attempts.ts";

/** A transaction as operators see it (summary). */
export interface TxnSummary {
  correlation_id: string;
  transaction_id: string;
  sender_id: string;
  action: string;
  registry: string;
  state: string;
  status: string;
  status_reason_code: string | null;
  attempts: number;
  last_error: string | null;
  /** The ERR code of a receiver that rejected the last callback attempt. */
  receiver_code: string | null;
  next_attempt_at: string | null;
  created_at: string;
  updated_at: string;
}

/** The summary of a row. */
export function summarize(row: TxnListRow): TxnSummary {
  return {
    correlation_id: row.correlation_id,
    transaction_id: row.transaction_id,
    sender_id: row.sender_id,
    action: row.action,
    registry: row.registry,
    state: row.state,
    status: dciStatus(row.state, row.outcome),
    status_reason_code: row.status_reason_code,
    attempts: row.attempts,
    last_error: row.last_error,
    receiver_code: row.receiver_code,
    next_attempt_at: row.next_attempt_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
  };
}

/** One transaction in full, with the history of its callback attempts. */
export type TxnDetail = Record<string, unknown> & {
  /** The kept callback attempts, oldest first (the last CALLBACK_ATTEMPTS_KEPT). */
  callback_attempts: CallbackAttempt[];
  /** Older attempts dropped from the history. */
  callback_attempts_omitted: number;
};

/**
 * Everything about one transaction: summary, callback details, request, result, every kept callback attempt
 * (`attempts` stays the count of the current attempt budget; `callback_attempts` is the history) and, for a
 * bulk search, its progress under `bulk` (items answered, pages delivered, and the pages not delivered yet or
 * failed, each with its attempts and last error: a bulk search's page attempts are not in `callback_attempts`).
 */
export async function detail(deps: Pick<Deps, "storage">, row: TxnWithResult): Promise<TxnDetail> {
  const history = await deps.storage.transactions.attempts(row.id);
  const bulk = await deps.storage.bulk.progress(row.id);
  return {
    ...summarize(row),
    message_id: row.message_id,
    callback_url: row.callback_url,
    callback_message_id: row.callback_message_id,
    status_reason_message: row.status_reason_message,
    process_attempts: row.process_attempts,
    process_error: row.process_error,
    total_count: row.total_count,
    completed_count: row.completed_count,
    processed_at: row.processed_at,
    completed_at: row.completed_at,
    request: { header: JSON.parse(row.request_header), message: JSON.parse(row.request_message) },
    result: row.result ? JSON.parse(row.result) : null,
    callback_attempts: history.attempts,
    callback_attempts_omitted: history.omitted,
    ...(bulk ? { bulk } : {}),
  };
}

/** Lists transactions newest first; `next_before` pages on. */
export async function listTxns(
  deps: Pick<Deps, "storage">,
  filter: TxnFilter,
): Promise<{ items: TxnSummary[]; next_before: number | null }> {
  const rows = await deps.storage.transactions.list(filter);
  return {
    items: rows.map(summarize),
    next_before: rows.length === filter.limit ? rows[rows.length - 1].id : null,
  };
}

/** One transaction by correlation_id. */
export function findTxn(
  deps: Pick<Deps, "storage">,
  correlationId: string,
): Promise<TxnWithResult | undefined> {
  return deps.storage.transactions.getByCorrelationId(correlationId);
}

/** Why a retry was refused. */
export type RetryRefusal = "not_found" | "not_failed" | "sender_disabled" | "sender_deleted";

/** What an operator is told when a retry is refused (404 for not_found, else 409). */
export function retryRefusalMessage(correlationId: string, reason: RetryRefusal, state?: string): string {
  switch (reason) {
    case "not_found":
      return `No transaction with correlation_id ${JSON.stringify(correlationId)}`;
    case "not_failed":
      return `Transaction ${correlationId} is in state ${state}; only callback_failed can be retried`;
    case "sender_disabled":
      return `Transaction ${correlationId} belongs to a disabled sender: enable the sender first`;
    case "sender_deleted":
      return `Transaction ${correlationId} belongs to a deleted sender: its callbacks are cancelled for good`;
  }
}

/**
 * Reopens a failed callback with a fresh attempt budget and wakes the worker; the sweeper backs it up. Refused
 * for a disabled sender, and for a deleted one (also when a sender was registered again under the same id
 * after the transaction: that transaction belonged to the deleted one).
 */
export async function retryCallback(
  deps: Deps,
  correlationId: string,
): Promise<{ ok: true; row: TxnRow } | { ok: false; reason: RetryRefusal; state?: string }> {
  const store = deps.storage.transactions;
  const row = await store.getByCorrelationId(correlationId);
  if (!row) return { ok: false, reason: "not_found" };
  const sender = await getSender(deps, row.sender_id);
  if (!sender || sender.created_at > row.created_at) return { ok: false, reason: "sender_deleted" };
  if (!sender.active) return { ok: false, reason: "sender_disabled" };
  if (!await store.reopenFailedCallback(row.id, isoNow(deps.clock))) {
    return { ok: false, reason: "not_failed", state: row.state };
  }
  await deps.queue.enqueue({ kind: TXN_KIND, id: String(row.id) }).catch((err) =>
    deps.log.warn("retry enqueue failed; the sweeper will pick it up", { correlation_id: correlationId, err })
  );
  deps.log.info("callback retry requested by operator", { correlation_id: correlationId });
  return { ok: true, row: (await store.getByCorrelationId(correlationId))! };
}
