/**
 * The transactions in PostgreSQL: the statements of store.ts numbered, where both dialects agree. Several
 * instances claim from one table: every claim and state change is one conditional UPDATE (… WHERE state …
 * RETURNING), which PostgreSQL re-checks on the row's latest version after waiting for its lock, so exactly one
 * claimant wins and a lost lease writes nothing.
 */
import type { PgPool } from "../db/pg/pool.ts";
import {
  pgAll,
  pgDeleteInChunks,
  pgOne,
  type PgQueryable,
  pgRun,
  pgText,
  pgTransaction,
} from "../db/pg/query.ts";
import { pgAfterCursor } from "../db/pg/keyset.ts";
import { BULK_COUNTS, BulkOpenLimit, INSERT_BULK, insertBulkArgs, type NewBulk } from "./bulk_store.ts";
import { pgOpenBulkOf } from "./pg_bulk_store.ts";
import { attemptArgs, attemptHistory, CALLBACK_ATTEMPTS_KEPT, LIST_ATTEMPTS } from "./attempts.ts";
import type { NewAttempt } from "./attempts.ts";
import type { CallbackFailure, NewTxn, StoredTxn, TxnListRow, TxnRow, TxnWithResult } from "./store.ts";
import { MESSAGE_ID_STORED } from "./store.ts";
import * as sql from "./txn_sql.ts";
import type { TransactionStore, TxnLease } from "./txn_store.ts";

// The transaction and its references in one statement (a data-modifying WITH runs whether read or not).
const INSERT_WITH_REFS = `WITH ins AS (${pgText(sql.INSERT_TXN)}),
  refs AS (INSERT INTO transaction_refs (sender_id, reference_id, txn)
    SELECT DISTINCT $1::text, r, ins.id FROM ins CROSS JOIN unnest($15::text[]) AS r ON CONFLICT DO NOTHING)
  SELECT id, ack, correlation_id FROM ins`;

// MAX(a, b) of SQLite is GREATEST in PostgreSQL.
const RELEASE_PROCESSING = `UPDATE transactions SET process_error = $1, lease_owner = NULL, lease_until = $2,
    updated_at = $3, process_attempts = GREATEST(0, process_attempts - $4)
  WHERE id = $5 AND state = 'processing' AND lease_owner = $6`;
const RELEASE_CALLBACK = `UPDATE transactions SET attempts = GREATEST(attempts - 1, 0), lease_owner = NULL,
    lease_until = NULL
  WHERE id = $1 AND lease_owner = $2 AND state IN ('succeeded','rejected')`;

// A list of values binds as one array, not one placeholder per value.
const BY_REFERENCE_IDS = sql.BY_REFERENCE_IDS_PG;
const BY_MESSAGE_IDS = pgText(sql.byMessageIds("= ANY(?::text[])"));

/** The callback claim with the transaction's result, one statement (SQLite reads the result after its claim). */
const CLAIM_CALLBACK = pgText(`WITH t AS (${sql.CLAIM_CALLBACK})
  SELECT t.*, ${sql.RESULT_COLUMNS} FROM t ${sql.RESULT_JOIN}`);

/** The outcome and the result, one statement: the result is stored only when the outcome was. */
const COMPLETE_PROCESSING = pgText(
  `WITH done AS (${sql.COMPLETE_PROCESSING} RETURNING id) ${sql.RESULT_INTO} SELECT id, ?::text FROM done ${sql.RESULT_AGAIN}`,
);

/**
 * A callback attempt's record and the state change it led to, in one round trip and one transaction
 * (src/db/pg/migrations/0031_pg_callback_outcome.sql: it holds the row, so two attempts never take one number).
 */
const CALLBACK_OUTCOME =
  "SELECT changed FROM dci_callback_outcome($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)";

/** The transactions in the PostgreSQL database behind `pool`. */
export function pgTransactionStore(pool: PgPool): TransactionStore {
  const ids = async (text: string, values: Array<string | number>) =>
    (await pgAll<{ id: number }>(pool, text, values)).map((r) => r.id);

  /** Inserts on `db` (the pool, or a transaction's client); a repeat reads the stored row afresh. */
  async function insertOn(db: PgQueryable, t: NewTxn): Promise<{ row: StoredTxn; created: boolean }> {
    const inserted = await pgOne<StoredTxn>(db, INSERT_WITH_REFS, [...sql.insertArgs(t), t.reference_ids]);
    if (inserted) return { row: inserted, created: true };
    // Read committed: this statement sees the row whose conflict the insert waited for.
    const existing = await pgOne<StoredTxn>(db, pgText(sql.STORED_TXN), [
      t.sender_id,
      t.action,
      t.dedupe_key,
    ]);
    return { row: existing!, created: false };
  }

  /**
   * Records `attempt` and makes the change `kind` (at: completed, or the next attempt's time for a retry) under
   * the lease of `owner`; true when the transaction changed.
   */
  async function withAttempt(
    id: number,
    owner: string,
    kind: "sent" | "retry" | "failed",
    change: { at: string; now: string; failure?: CallbackFailure },
    attempt: NewAttempt,
  ): Promise<boolean> {
    const failure = change.failure ? sql.failureArgs(change.failure, change.at, change.now, id, owner) : [];
    const row = await pgOne<{ changed: boolean }>(pool, CALLBACK_OUTCOME, [
      id,
      owner,
      kind,
      failure[0] ?? null,
      failure[1] ?? null,
      change.at,
      change.now,
      // INSERT_ATTEMPT's values of the attempt: between the transaction id it starts and ends with.
      ...attemptArgs(id, attempt).slice(1, -1),
      CALLBACK_ATTEMPTS_KEPT,
    ]);
    return row?.changed === true;
  }

  return {
    // One statement per accept; a bulk search's file row joins it in one transaction.
    insert: (t, bulk) => bulk ? pgTransaction(pool, (c) => insertBulkOn(c, t, bulk)) : insertOn(pool, t),
    markPending: async (id, now) => void await pgRun(pool, pgText(sql.MARK_PENDING), [now, id]),
    hasMessageId: async (senderId, messageId) =>
      (await pgOne(pool, pgText(MESSAGE_ID_STORED), [senderId, messageId])) !== undefined,
    claimProcessing: (id, owner, now, until) =>
      pgOne<TxnRow>(pool, pgText(sql.CLAIM_PROCESSING), [owner, until, now, id, now]),
    completeProcessing: async (id, owner, p, now) =>
      (await pgRun(pool, COMPLETE_PROCESSING, [...sql.completeArgs(id, owner, p, now), p.result])) === 1,
    releaseProcessing: async (id, owner, p) =>
      (await pgRun(pool, RELEASE_PROCESSING, sql.releaseArgs(id, owner, p))) === 1,
    claimCallback: (id, owner, now, until) =>
      pgOne<TxnWithResult>(pool, CLAIM_CALLBACK, [owner, until, now, id, now, now]),
    markCallbackSent: (id, owner, now, attempt) => withAttempt(id, owner, "sent", { at: now, now }, attempt),
    scheduleRetry: (id, owner, r, attempt) =>
      withAttempt(id, owner, "retry", { at: r.nextAt, now: r.now, failure: r.failure }, attempt),
    markCallbackFailed: (id, owner, f, attempt) =>
      withAttempt(id, owner, "failed", { at: f.now, now: f.now, failure: f.failure }, attempt),
    releaseCallback: async (id, owner) => (await pgRun(pool, RELEASE_CALLBACK, [id, owner])) === 1,
    reopenFailedCallback: async (id, now) =>
      (await pgRun(pool, pgText(sql.REOPEN_FAILED), [now, now, id])) === 1,
    setCallbackUrl: async (id, url) => void await pgRun(pool, pgText(sql.SET_CALLBACK_URL), [url, id]),
    cancelOpen: (of, reason, now) => {
      const q = sql.cancelOpen(of, reason, now);
      return pgRun(pool, pgText(q.sql), q.args);
    },
    openIds: (senderId, limit) => ids(pgText(sql.OPEN_IDS), [senderId, limit]),
    // Other instances' live leases: never released here (the interface says why).
    releaseLeases: () => Promise.resolve(0),
    get: (id) => pgOne<TxnWithResult>(pool, pgText(sql.TXN_BY_ID), [id]),
    getByCorrelationId: (cid, senderId) =>
      senderId === undefined
        ? pgOne<TxnWithResult>(pool, pgText(sql.TXN_BY_CORRELATION), [cid])
        : pgOne<TxnWithResult>(pool, pgText(sql.TXN_BY_CORRELATION_OF), [cid, senderId]),
    findByTransactionId: ({ senderId, registry, since }, tid) =>
      pgAll<TxnWithResult>(pool, pgText(sql.TXN_BY_TRANSACTION_ID), [senderId, registry, since, tid]),
    findByReferenceIds: async ({ senderId, registry, since }, refs) =>
      refs.length === 0
        ? []
        : await pgAll<TxnWithResult>(pool, BY_REFERENCE_IDS, [senderId, refs, registry, since]),
    findByMessageIds: async ({ senderId, registry, since }, messageIds) =>
      messageIds.length === 0
        ? []
        : await pgAll<TxnWithResult>(pool, BY_MESSAGE_IDS, [senderId, registry, since, messageIds]),
    async list(f) {
      const after = f.before === undefined
        ? undefined
        : await pgAfterCursor(pool, "transactions", "", f.before);
      if (f.before !== undefined && !after) return [];
      const q = sql.txnListQuery(f, after);
      return await pgAll<TxnListRow>(pool, pgText(q.sql), q.args);
    },
    async stateCounts() {
      const open = await pgAll<{ state: string; n: number }>(pool, pgText(sql.OPEN_COUNTS));
      const failed = await pgOne<{ n: number }>(pool, pgText(sql.FAILED_COUNT));
      return [...open, { state: "callback_failed", n: failed!.n }];
    },
    leaseOf: (id) => pgOne<TxnLease>(pool, pgText(sql.LEASE_OF), [id]),
    attempts: async (id) => attemptHistory(await pgAll(pool, pgText(LIST_ATTEMPTS), [id])),
    purgeFinished: (cutoff) => pgDeleteInChunks(pool, pgText(sql.PURGE_FINISHED), [cutoff, cutoff, cutoff]),
  };

  async function insertBulkOn(c: PgQueryable, t: NewTxn, bulk: NewBulk) {
    // The sender's bulk inserts take turns (instances included) until their transaction ends, so the count below
    // sees every other one committed.
    if (bulk.maxOpen !== undefined) {
      await pgRun(c, "SELECT pg_advisory_xact_lock(hashtext($1))", [`dci-bulk-open:${t.sender_id}`]);
    }
    const stored = await insertOn(c, t);
    if (stored.created && bulk.maxOpen !== undefined) {
      const open = await pgOpenBulkOf(c, t.sender_id);
      if (open >= bulk.maxOpen) throw new BulkOpenLimit(open);
    }
    if (stored.created) {
      const b = { ...bulk, txn: stored.row.id };
      await pgRun(c, pgText(INSERT_BULK), insertBulkArgs(b));
      await pgRun(c, pgText(BULK_COUNTS), [b.items_total, b.txn]);
    }
    return stored;
  }
}
