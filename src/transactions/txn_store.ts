/**
 * Where async transactions are kept: the interface the services use (accept, the worker, status queries, operator
 * views, the sweeper, retention) and its embedded SQLite implementation, which wraps the synchronous functions of
 * store.ts and attempts.ts unchanged. Every state change is one conditional write, so a claim is won by one
 * worker only, on either backend.
 */
import type { Db } from "../db/sqlite.ts";
import { groupCommit } from "../db/group_commit.ts";
import { deleteInChunks } from "../db/purge.ts";
import { stmt } from "../db/statements.ts";
import { BulkOpenLimit, insertBulk, type NewBulk, openBulkOf } from "./bulk_store.ts";
import { type CallbackAttempt, listAttempts, type NewAttempt, recordAttempt } from "./attempts.ts";
import {
  type CallbackFailure,
  cancelOpenTransactions,
  claimCallback,
  claimProcessing,
  completeProcessing,
  findByMessageIds,
  findByReferenceIds,
  findByTransactionId,
  getByCorrelationId,
  getTransaction,
  insertTransaction,
  listTransactions,
  markCallbackFailed,
  markCallbackSent,
  markPending,
  messageIdStored,
  type NewTxn,
  openTransactionIds,
  type ProcessedTxn,
  releaseCallback,
  releaseLeases,
  releaseProcessing,
  reopenFailedCallback,
  scheduleRetry,
  setCallbackUrl,
  stateCounts,
  type StatusScope,
  type StoredTxn,
  type TxnFilter,
  type TxnListRow,
  type TxnRow,
  type TxnWithResult,
} from "./store.ts";
import { LEASE_OF, PURGE_FINISHED } from "./txn_sql.ts";

/** A processing attempt given back: why, when it is due again, and whether the claim's count is taken back. */
export interface ProcessingRelease {
  error: string;
  retryAt: string;
  now: string;
  /** A fault of the storage, not of the transaction: the attempt is not counted (and the write waits its turn). */
  uncount?: boolean;
}

/** What a callback check reads right before sending. */
export type TxnLease = Pick<TxnRow, "state" | "lease_owner" | "sender_id"> & {
  /** senders.active (1/0), null when the sender is gone: its standing, read in the same statement. */
  active: number | null;
};

/** The transactions, their references and their callback attempt history. */
export interface TransactionStore {
  /**
   * Stores an accepted transaction, its reference ids and, for a bulk search, its file's row, all or nothing; a
   * repeat (same sender, action and dedupe key) changes nothing and returns the stored row with created false.
   */
  insert(t: NewTxn, bulk?: NewBulk): Promise<{ row: StoredTxn; created: boolean }>;
  /** received → pending once the id is on the queue (no-op if the worker already took it). */
  markPending(id: number, now: string): Promise<void>;
  /** Whether a transaction was stored under `messageId` of `senderId` (any action or registry). */
  hasMessageId(senderId: string, messageId: string): Promise<boolean>;
  /** Claims for processing (received/pending, or processing with a lapsed lease) and counts the attempt. */
  claimProcessing(id: number, owner: string, now: string, leaseUntil: string): Promise<TxnRow | undefined>;
  /** processing → succeeded|rejected with the result, by the lease holder only; the callback is due at once. */
  completeProcessing(id: number, owner: string, p: ProcessedTxn, now: string): Promise<boolean>;
  /** A failed processing attempt: the lease goes and the transaction is due again at `retryAt`. */
  releaseProcessing(id: number, owner: string, p: ProcessingRelease): Promise<boolean>;
  /** Claims a due callback attempt (counting it), or nothing when it is not due or another holder has it. */
  claimCallback(
    id: number,
    owner: string,
    now: string,
    leaseUntil: string,
  ): Promise<TxnWithResult | undefined>;
  /** Records the attempt and moves succeeded|rejected → callback_sent (lease holder only), in one transaction. */
  markCallbackSent(id: number, owner: string, now: string, attempt: NewAttempt): Promise<boolean>;
  /** Records the failed attempt and when the next is due, in one transaction. */
  scheduleRetry(
    id: number,
    owner: string,
    retry: { failure: CallbackFailure; nextAt: string; now: string },
    attempt: NewAttempt,
  ): Promise<boolean>;
  /** Records the last attempt and moves succeeded|rejected → callback_failed, in one transaction. */
  markCallbackFailed(
    id: number,
    owner: string,
    failed: { failure: CallbackFailure; now: string },
    attempt: NewAttempt,
  ): Promise<boolean>;
  /** Undoes a callback claim whose attempt was never made: the lease goes and the attempt is not counted. */
  releaseCallback(id: number, owner: string): Promise<boolean>;
  /** callback_failed → succeeded|rejected with a fresh attempt budget, due now (operator retry). */
  reopenFailedCallback(id: number, now: string): Promise<boolean>;
  /** Records the callback URL a delivery used. */
  setCallbackUrl(id: number, url: string): Promise<void>;
  /** Ends the open transactions of a sender (or the one `id`) as callback_failed with `reason`; returns how many. */
  cancelOpen(of: { senderId: string } | { id: number }, reason: string, now: string): Promise<number>;
  /** Ids of a sender's open transactions, oldest first. */
  openIds(senderId: string, limit: number): Promise<number[]>;
  /**
   * At the start-up of a worker, drops the leases a dead worker left, returning how many: on SQLite every lease
   * (one worker per database file: whoever held them is gone); on PostgreSQL none, since another instance may
   * hold them and be working — a dead instance's leases lapse after DCI_LEASE_SECONDS and the sweeper redoes
   * their work then.
   */
  releaseLeases(): Promise<number>;
  /** One transaction by internal id. */
  get(id: number): Promise<TxnWithResult | undefined>;
  /** One transaction by correlation_id, optionally only the sender's own. */
  getByCorrelationId(correlationId: string, senderId?: string): Promise<TxnWithResult | undefined>;
  /** The scope's business transactions with `transactionId` (status queries excluded), newest first (20 at most). */
  findByTransactionId(scope: StatusScope, transactionId: string): Promise<TxnWithResult[]>;
  /** The scope's transactions holding any of `referenceIds`, newest first (20 at most). */
  findByReferenceIds(scope: StatusScope, referenceIds: string[]): Promise<TxnWithResult[]>;
  /** The scope's transactions whose request carried one of `messageIds`, newest first (20 at most). */
  findByMessageIds(scope: StatusScope, messageIds: string[]): Promise<TxnWithResult[]>;
  /** A page of transactions newest first by (created_at, id), after the cursor `f.before`. */
  list(f: TxnFilter): Promise<TxnListRow[]>;
  /** Open transactions by state, and callback_failed. */
  stateCounts(): Promise<Array<{ state: string; n: number }>>;
  /** The state, lease holder and sender (with its standing) of a transaction, read right before a callback. */
  leaseOf(id: number): Promise<TxnLease | undefined>;
  /** The kept callback attempts of a transaction, oldest first, and how many older ones were dropped. */
  attempts(id: number): Promise<{ attempts: CallbackAttempt[]; omitted: number }>;
  /** Deletes finished transactions (callback sent or failed) created and last changed before `cutoff`. */
  purgeFinished(cutoff: string): Promise<number>;
}

/** The transactions in the embedded SQLite database. */
export function sqliteTransactionStore(db: Db): TransactionStore {
  return {
    // The accept path: the turn's group commit, exactly as before (one write transaction per event-loop turn).
    insert: (t, bulk) =>
      groupCommit(db, () => {
        const stored = insertTransaction(db, t);
        if (stored.created && bulk) {
          // Counted under the write lock, which every isolate and process takes in turn; the throw undoes the
          // insert (its group-commit savepoint).
          if (bulk.maxOpen !== undefined) {
            const open = openBulkOf(db, t.sender_id);
            if (open >= bulk.maxOpen) throw new BulkOpenLimit(open);
          }
          insertBulk(db, { ...bulk, txn: stored.row.id });
        }
        return stored;
      }),
    markPending: (id, now) => Promise.try(() => markPending(db, id, now)),
    hasMessageId: (senderId, messageId) => Promise.try(() => messageIdStored(db, senderId, messageId)),
    // The worker's steps: the writes of the transactions in flight within one event-loop turn share one
    // commit (a lifecycle is four writes of one wide row; a commit each cost more than the writes), and a
    // write lock held elsewhere is waited for on timers, never by blocking the isolate.
    claimProcessing: (id, owner, now, until) =>
      groupCommit(db, () => claimProcessing(db, id, owner, now, until)),
    completeProcessing: (id, owner, p, now) =>
      groupCommit(db, () => completeProcessing(db, id, owner, p, now)),
    releaseProcessing: (id, owner, p) => groupCommit(db, () => releaseProcessing(db, id, owner, p)),
    claimCallback: (id, owner, now, until) => groupCommit(db, () => claimCallback(db, id, owner, now, until)),
    markCallbackSent: (id, owner, now, attempt) =>
      groupCommit(db, () => {
        recordAttempt(db, id, attempt);
        return markCallbackSent(db, id, owner, now);
      }),
    scheduleRetry: (id, owner, r, attempt) =>
      groupCommit(db, () => {
        recordAttempt(db, id, attempt);
        return scheduleRetry(db, id, owner, r.failure, r.nextAt, r.now);
      }),
    markCallbackFailed: (id, owner, f, attempt) =>
      groupCommit(db, () => {
        recordAttempt(db, id, attempt);
        return markCallbackFailed(db, id, owner, f.failure, f.now);
      }),
    releaseCallback: (id, owner) => groupCommit(db, () => releaseCallback(db, id, owner)),
    reopenFailedCallback: (id, now) => Promise.try(() => reopenFailedCallback(db, id, now)),
    setCallbackUrl: (id, url) => Promise.try(() => setCallbackUrl(db, id, url)),
    cancelOpen: (of, reason, now) => Promise.try(() => cancelOpenTransactions(db, of, reason, now)),
    openIds: (senderId, limit) => Promise.try(() => openTransactionIds(db, senderId, limit)),
    releaseLeases: () => Promise.try(() => releaseLeases(db)),
    get: (id) => Promise.try(() => getTransaction(db, id)),
    getByCorrelationId: (cid, senderId) => Promise.try(() => getByCorrelationId(db, cid, senderId)),
    findByTransactionId: (scope, tid) => Promise.try(() => findByTransactionId(db, scope, tid)),
    findByReferenceIds: (scope, ids) => Promise.try(() => findByReferenceIds(db, scope, ids)),
    findByMessageIds: (scope, ids) => Promise.try(() => findByMessageIds(db, scope, ids)),
    list: (f) => Promise.try(() => listTransactions(db, f)),
    stateCounts: () => Promise.try(() => stateCounts(db)),
    leaseOf: (id) => Promise.try(() => stmt(db, LEASE_OF).get(id) as TxnLease | undefined),
    attempts: (id) => Promise.try(() => listAttempts(db, id)),
    purgeFinished: (cutoff) => deleteInChunks(db, PURGE_FINISHED, [cutoff, cutoff, cutoff]),
  };
}
