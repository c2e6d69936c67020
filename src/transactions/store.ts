/**
 * The transactions table: every write is one conditional statement (or one SQLite transaction), so a
 * redelivered queue message, a sweeper and a slow worker can never do a step twice.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { afterCursor } from "../db/keyset.ts";
import type { TxnAction, TxnState } from "./states.ts";
import {
  byMessageIds,
  byReferenceIds,
  cancelOpen,
  CLAIM_CALLBACK,
  CLAIM_PROCESSING,
  COMPLETE_PROCESSING,
  completeArgs,
  FAILED_COUNT,
  failureArgs,
  INSERT_RESULT,
  INSERT_TXN,
  insertArgs,
  MARK_CALLBACK_FAILED,
  MARK_CALLBACK_SENT,
  MARK_PENDING,
  OPEN_COUNTS,
  OPEN_IDS,
  RELEASE_LEASES,
  releaseArgs,
  REOPEN_FAILED,
  RESULT_OF,
  SCHEDULE_RETRY,
  SET_CALLBACK_URL,
  STORED_TXN,
  TXN_BY_CORRELATION,
  TXN_BY_CORRELATION_OF,
  TXN_BY_ID,
  TXN_BY_TRANSACTION_ID,
  type TXN_LIST_COLUMNS,
  txnListQuery,
} from "./txn_sql.ts";

/** One stored transaction as read from SQLite. */
export interface TxnRow {
  id: number;
  sender_id: string;
  transaction_id: string;
  dedupe_key: string;
  message_id: string;
  correlation_id: string;
  action: TxnAction;
  registry: string;
  callback_url: string;
  request_header: string;
  request_message: string;
  ack: string;
  state: TxnState;
  outcome: "succ" | "rjct" | null;
  status_reason_code: string | null;
  status_reason_message: string | null;
  total_count: number | null;
  completed_count: number | null;
  callback_message_id: string | null;
  attempts: number;
  last_error: string | null;
  /** Processing attempts started (counted by the claim, before the processor runs). */
  process_attempts: number;
  /** Why the last processing attempt failed (for operators; never sent). */
  process_error: string | null;
  /** The ERR code of a receiver that rejected the last callback attempt (HTTP 2xx, ack_status ERR). */
  receiver_code: string | null;
  next_attempt_at: string | null;
  lease_owner: string | null;
  lease_until: string | null;
  created_at: string;
  updated_at: string;
  processed_at: string | null;
  completed_at: string | null;
}

/**
 * A transaction with its result (its own table since migration 0032, read where it is needed: status answers, the
 * callback, `txn show`).
 */
export interface TxnWithResult extends TxnRow {
  /** The callback message: canonical text (`canonicalMessage`), or plain JSON when result_canonical is 0. */
  result: string | null;
  /** 1: `result` is signed and sent as stored; 0: plain JSON, from a row stored before migration 0032. */
  result_canonical: number;
}

/** What the accept step writes. */
export type NewTxn =
  & Pick<
    TxnRow,
    | "sender_id"
    | "transaction_id"
    | "dedupe_key"
    | "message_id"
    | "correlation_id"
    | "action"
    | "registry"
    | "callback_url"
    | "request_header"
    | "request_message"
    | "ack"
  >
  & {
    reference_ids: string[];
    now: string;
    /**
     * The message_id of its callback, made at the ACK so that every processing of it (again after a restore)
     * sends the same one; left out (a bulk search, whose pages have their own), processing makes it.
     */
    callback_message_id?: string;
  };

/** The outcome of processing, stored before the callback is attempted. */
export interface ProcessedTxn {
  outcome: "succ" | "rjct";
  reasonCode?: string;
  reasonMessage?: string;
  totalCount: number;
  completedCount: number;
  /** The callback message as canonical text (canonicalMessage): every attempt signs and sends it as it is. */
  result: string;
  /** The callback's message_id, stored only when the row has none (made at the ACK since the row holds one). */
  callbackMessageId: string;
  /** Why processing failed, when it did (kept for operators). */
  processError?: string;
}

/** What accepting needs of a stored transaction: its id and the ACK a repeat gets. */
export type StoredTxn = Pick<TxnRow, "id" | "ack" | "correlation_id">;

/**
 * Inserts a transaction and its reference ids (inside the caller's write transaction: accepting runs it in
 * the turn's group commit); a repeat changes nothing and returns the stored row.
 */
export function insertTransaction(db: Db, t: NewTxn): { row: StoredTxn; created: boolean } {
  const inserted = stmt(db, INSERT_TXN).get(...insertArgs(t)) as
    | StoredTxn
    | undefined;
  if (!inserted) {
    const existing = stmt(db, STORED_TXN).get(t.sender_id, t.action, t.dedupe_key) as unknown as StoredTxn;
    return { row: existing, created: false };
  }
  const ref = stmt(
    db,
    "INSERT OR IGNORE INTO transaction_refs (sender_id, reference_id, txn) VALUES (?, ?, ?)",
  );
  for (const r of new Set(t.reference_ids)) ref.run(t.sender_id, r, inserted.id);
  return { row: inserted, created: true };
}

/**
 * Whether a transaction of (sender_id, message_id) is stored, of any action or registry (index
 * transactions_sender_message). Both backends.
 */
export const MESSAGE_ID_STORED =
  "SELECT 1 AS found FROM transactions WHERE sender_id = ? AND message_id = ? LIMIT 1";

/** Whether a transaction was stored under `messageId` of `senderId` (the replay guard asks: src/auth/admission.ts). */
export function messageIdStored(db: Db, senderId: string, messageId: string): boolean {
  return stmt(db, MESSAGE_ID_STORED).get(senderId, messageId) !== undefined;
}

/** received → pending once the id is on the queue (no-op if the worker already took it). */
export function markPending(db: Db, id: number, now: string): void {
  stmt(db, MARK_PENDING).run(now, id);
}

/**
 * Claims a transaction for processing (received/pending, or processing whose lease lapsed) and counts the
 * attempt: the count is committed before the processor runs, so an attempt that crashes the process counts too.
 */
export function claimProcessing(db: Db, id: number, owner: string, now: string, leaseUntil: string) {
  return stmt(db, CLAIM_PROCESSING).get(owner, leaseUntil, now, id, now) as TxnRow | undefined;
}

/** processing → succeeded|rejected with the result, only by the lease holder; the callback is due at once. */
export function completeProcessing(db: Db, id: number, owner: string, p: ProcessedTxn, now: string): boolean {
  if (stmt(db, COMPLETE_PROCESSING).run(...completeArgs(id, owner, p, now)).changes !== 1) return false;
  stmt(db, INSERT_RESULT).run(id, p.result);
  return true;
}

/** A failed processing attempt: the lease is dropped and the transaction is due again at `retryAt`. */
export function releaseProcessing(
  db: Db,
  id: number,
  owner: string,
  p: { error: string; retryAt: string; now: string; uncount?: boolean },
): boolean {
  // `uncount` takes back the attempt the claim counted (a fault of the storage, not of the transaction).
  return stmt(
    db,
    `UPDATE transactions SET process_error = ?, lease_owner = NULL, lease_until = ?, updated_at = ?,
       process_attempts = MAX(0, process_attempts - ?)
     WHERE id = ? AND state = 'processing' AND lease_owner = ?`,
  ).run(...releaseArgs(id, owner, p)).changes === 1;
}

/** Claims a due callback attempt (counting it), or nothing when not due or another holder has it. */
export function claimCallback(
  db: Db,
  id: number,
  owner: string,
  now: string,
  leaseUntil: string,
): TxnWithResult | undefined {
  const row = stmt(db, CLAIM_CALLBACK).get(owner, leaseUntil, now, id, now, now) as TxnRow | undefined;
  return row &&
    { ...row, ...stmt(db, RESULT_OF).get(id) as Pick<TxnWithResult, "result" | "result_canonical"> };
}

/** succeeded|rejected → callback_sent, by the lease holder. */
export function markCallbackSent(db: Db, id: number, owner: string, now: string): boolean {
  return stmt(db, MARK_CALLBACK_SENT).run(now, now, id, owner).changes === 1;
}

/** What a failed callback attempt records: why, and the receiver's ERR code when it rejected the envelope. */
export interface CallbackFailure {
  error: string;
  receiverCode?: string;
}

/** Records a failed attempt and when the next is due. */
export function scheduleRetry(
  db: Db,
  id: number,
  owner: string,
  f: CallbackFailure,
  nextAt: string,
  now: string,
) {
  return stmt(db, SCHEDULE_RETRY).run(...failureArgs(f, nextAt, now, id, owner)).changes === 1;
}

/** succeeded|rejected → callback_failed, keeping the reason. */
export function markCallbackFailed(
  db: Db,
  id: number,
  owner: string,
  f: CallbackFailure,
  now: string,
): boolean {
  return stmt(db, MARK_CALLBACK_FAILED).run(...failureArgs(f, now, now, id, owner)).changes === 1;
}

/** callback_failed → succeeded|rejected with a fresh attempt budget, due now (operator retry). */
export function reopenFailedCallback(db: Db, id: number, now: string): boolean {
  return stmt(db, REOPEN_FAILED).run(now, now, id).changes === 1;
}

/** Undoes a callback claim whose attempt was held before sending: the lease goes and the attempt is not counted. */
export function releaseCallback(db: Db, id: number, owner: string): boolean {
  return stmt(
    db,
    `UPDATE transactions SET attempts = MAX(attempts - 1, 0), lease_owner = NULL, lease_until = NULL
     WHERE id = ? AND lease_owner = ? AND state IN ('succeeded','rejected')`,
  ).run(id, owner).changes === 1;
}

/** Records the callback URL a delivery used (the sender's current one when it changed since accept). */
export function setCallbackUrl(db: Db, id: number, url: string): void {
  stmt(db, SET_CALLBACK_URL).run(url, id);
}

/**
 * Ends every open transaction of a sender (or the one `id`) as callback_failed with `reason`: its callback is
 * cancelled for good. The worker's later conditional writes on these rows change nothing. Returns the count.
 */
export function cancelOpenTransactions(
  db: Db,
  of: { senderId: string } | { id: number },
  reason: string,
  now: string,
): number {
  const c = cancelOpen(of, reason, now);
  return Number(stmt(db, c.sql).run(...c.args).changes);
}

/** Ids of a sender's open transactions, oldest first (to wake the worker for them when it is enabled). */
export function openTransactionIds(db: Db, senderId: string, limit: number): number[] {
  return (stmt(db, OPEN_IDS).all(senderId, limit) as Array<{ id: number }>).map((r) => r.id);
}

/** Drops every lease (start-up of the one worker process: whoever held them is gone). */
export function releaseLeases(db: Db): number {
  return Number(stmt(db, RELEASE_LEASES).run().changes);
}

/** One transaction by internal id. */
export function getTransaction(db: Db, id: number): TxnWithResult | undefined {
  return stmt(db, TXN_BY_ID).get(id) as TxnWithResult | undefined;
}

/** One transaction by correlation_id, optionally only the sender's own. */
export function getByCorrelationId(
  db: Db,
  correlationId: string,
  senderId?: string,
): TxnWithResult | undefined {
  return (senderId === undefined
    ? stmt(db, TXN_BY_CORRELATION).get(correlationId)
    : stmt(db, TXN_BY_CORRELATION_OF).get(correlationId, senderId)) as TxnWithResult | undefined;
}

/** The scope's business transactions with `transactionId` (status queries excluded), newest first. */
export function findByTransactionId(db: Db, scope: StatusScope, transactionId: string): TxnWithResult[] {
  return stmt(db, TXN_BY_TRANSACTION_ID).all(
    scope.senderId,
    scope.registry,
    scope.since,
    transactionId,
  ) as unknown as TxnWithResult[];
}

/** The scope's transactions holding any of `referenceIds`, newest first. */
export function findByReferenceIds(db: Db, scope: StatusScope, referenceIds: string[]): TxnWithResult[] {
  if (referenceIds.length === 0) return [];
  const ids = [...new Set(referenceIds)];
  return stmt(db, byReferenceIds(ids.length)).all(
    ...ids.flatMap((ref) => [scope.senderId, ref, scope.registry, scope.since]),
  ) as unknown as TxnWithResult[];
}

/**
 * The sender's transactions whose request header carried one of `messageIds` (status queries excluded), newest
 * first: OpenSPP's clients name a transaction by the message_id of the request that made it.
 */
export function findByMessageIds(db: Db, scope: StatusScope, messageIds: string[]): TxnWithResult[] {
  if (messageIds.length === 0) return [];
  const marks = messageIds.map(() => "?").join(",");
  return stmt(db, byMessageIds(`IN (${marks})`)).all(
    scope.senderId,
    scope.registry,
    scope.since,
    ...messageIds,
  ) as unknown as TxnWithResult[];
}

/**
 * Whose transactions a status query may see: the calling sender's, on the registry it asked, made since the sender
 * was registered (a sender id deleted and registered again for another partner does not see the old one's).
 */
export interface StatusScope {
  senderId: string;
  registry: string;
  /** The sender's created_at. */
  since: string;
}

/** Filters for listing transactions. */
export interface TxnFilter {
  state?: string;
  senderId?: string;
  action?: string;
  transactionId?: string;
  registry?: string;
  /** Created at or after / before these ISO times. */
  since?: string;
  until?: string;
  /** Cursor, newest first: the rows listed after the row with this id (its next_before). */
  before?: number;
  limit: number;
}

/** A listed transaction: the columns of its summary (TXN_LIST_COLUMNS). */
export type TxnListRow = Pick<TxnRow, typeof TXN_LIST_COLUMNS[number]>;

/**
 * Lists transactions newest first, by (created_at, id): each filter has an index in that order (migration
 * 0023), so a page reads its rows and no more. The cursor is a row id; its row's created_at starts the page
 * (a cursor with no row, never handed out, starts at the row below it).
 */
export function listTransactions(db: Db, f: TxnFilter): TxnListRow[] {
  let after: { sql: string; args: [string, number] } | undefined;
  if (f.before !== undefined) {
    after = afterCursor(db, "transactions", "", f.before);
    if (!after) return [];
  }
  const q = txnListQuery(f, after);
  return stmt(db, q.sql).all(...q.args) as unknown as TxnListRow[];
}

/** Counts of open (and failed) transactions by state, for the queue-depth gauge. */
export function stateCounts(db: Db): Array<{ state: string; n: number }> {
  const open = stmt(db, OPEN_COUNTS).all() as Array<{ state: string; n: number }>;
  const failed = stmt(db, FAILED_COUNT).get() as { n: number };
  return [...open, { state: "callback_failed", n: failed.n }];
}
