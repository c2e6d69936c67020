/**
 * The statements of the transactions table that both backends run word for word (SQLite's `?` placeholders,
 * numbered for PostgreSQL by `pgText`), and the arguments each binds. store.ts runs them on SQLite, pg_store.ts
 * on PostgreSQL.
 */
import { whereOf } from "../db/where.ts";
import type { CallbackFailure, NewTxn, ProcessedTxn, TxnFilter } from "./store.ts";
import { DISABLED_SENDERS } from "../senders/pause.ts";

/** The open states (a callback still to come). */
export const OPEN = "('received','pending','processing','succeeded','rejected')";

/**
 * The insert of a new transaction (its arguments: insertArgs), returning its StoredTxn; a repeat of (sender,
 * action, dedupe key) is a no-op and returns nothing.
 */
export const INSERT_TXN = `INSERT INTO transactions (sender_id, transaction_id, dedupe_key, message_id,
    correlation_id, action, registry, callback_url, request_header, request_message, ack, callback_message_id,
    state, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, ?)
  ON CONFLICT (sender_id, action, dedupe_key) DO NOTHING RETURNING id, ack, correlation_id`;

/** The arguments of INSERT_TXN. */
export function insertArgs(t: NewTxn): Array<string | null> {
  return [
    t.sender_id,
    t.transaction_id,
    t.dedupe_key,
    t.message_id,
    t.correlation_id,
    t.action,
    t.registry,
    t.callback_url,
    t.request_header,
    t.request_message,
    t.ack,
    t.callback_message_id ?? null,
    t.now,
    t.now,
  ];
}

/** The stored transaction a repeat gets: (sender_id, action, dedupe_key). */
export const STORED_TXN =
  "SELECT id, ack, correlation_id FROM transactions WHERE sender_id = ? AND action = ? AND dedupe_key = ?";

/** received → pending: (now, id). */
export const MARK_PENDING =
  "UPDATE transactions SET state = 'pending', updated_at = ? WHERE id = ? AND state = 'received'";

/** The processing claim, one conditional UPDATE: (owner, leaseUntil, now, id, now). */
export const CLAIM_PROCESSING =
  `UPDATE transactions SET state = 'processing', lease_owner = ?, lease_until = ?,
    updated_at = ?, process_attempts = process_attempts + 1
  WHERE id = ? AND (state IN ('received','pending')
    OR (state = 'processing' AND (lease_until IS NULL OR lease_until <= ?)))
    AND sender_id NOT IN ${DISABLED_SENDERS}
  RETURNING *`;

/**
 * processing → succeeded|rejected by the lease holder (arguments: completeArgs). The callback's message_id made at
 * the ACK is kept, so a transaction processed again (after a restore of a backup taken before it was) is sent under the
 * same one and its receiver can de-duplicate it; a row stored before that (NULL) takes the one made now.
 */
export const COMPLETE_PROCESSING = `UPDATE transactions SET state = ?, outcome = ?, status_reason_code = ?,
    status_reason_message = ?, total_count = ?, completed_count = ?,
    callback_message_id = COALESCE(callback_message_id, ?), attempts = 0,
    process_error = COALESCE(?, process_error), next_attempt_at = ?, lease_owner = NULL, lease_until = NULL,
    processed_at = ?, updated_at = ?
  WHERE id = ? AND state = 'processing' AND lease_owner = ?`;

/** The arguments of COMPLETE_PROCESSING. */
export function completeArgs(
  id: number,
  owner: string,
  p: ProcessedTxn,
  now: string,
): Array<string | number | null> {
  return [
    p.outcome === "succ" ? "succeeded" : "rejected",
    p.outcome,
    p.reasonCode ?? null,
    p.reasonMessage ?? null,
    p.totalCount,
    p.completedCount,
    p.callbackMessageId,
    p.processError?.slice(0, 999) ?? null,
    now,
    now,
    now,
    id,
    owner,
  ];
}

/** Where a completed transaction's result goes: a table of its own (migration 0032), one row a transaction. */
export const RESULT_INTO = `INSERT INTO transaction_results (txn, result)`;
/** What storing a result again does (never expected: the completion is conditional on the lease). */
export const RESULT_AGAIN = "ON CONFLICT (txn) DO UPDATE SET result = excluded.result";
/** A completed transaction's result: (txn, result). */
export const INSERT_RESULT = `${RESULT_INTO} VALUES (?, ?) ${RESULT_AGAIN}`;

/**
 * A transaction's result beside the row `t` (joined to `transaction_results r`): the canonical text stored since
 * migration 0032 (result_canonical 1), else the plain JSON of a row stored before (0), else null.
 */
export const RESULT_COLUMNS = `COALESCE(r.result, t.legacy_result) AS result,
  CASE WHEN r.txn IS NULL THEN 0 ELSE 1 END AS result_canonical`;
/** The join RESULT_COLUMNS reads from, after a transactions row `t`. */
export const RESULT_JOIN = "LEFT JOIN transaction_results r ON r.txn = t.id";
const WITH_RESULT = `SELECT t.*, ${RESULT_COLUMNS} FROM transactions t ${RESULT_JOIN}`;
/** The most transactions one status query reads, each with its stored answer. */
const STATUS_ROWS = 20;

/** The result of transaction (id) (RESULT_COLUMNS). */
export const RESULT_OF = `SELECT ${RESULT_COLUMNS} FROM transactions t ${RESULT_JOIN} WHERE t.id = ?`;

/** The arguments of the processing release (SQLite above; PostgreSQL writes GREATEST for MAX). */
export function releaseArgs(
  id: number,
  owner: string,
  p: { error: string; retryAt: string; now: string; uncount?: boolean },
): Array<string | number> {
  return [p.error.slice(0, 999), p.retryAt, p.now, p.uncount ? 1 : 0, id, owner];
}

/** The callback claim, one conditional UPDATE: (owner, leaseUntil, now, id, now, now). */
export const CLAIM_CALLBACK =
  `UPDATE transactions SET attempts = attempts + 1, lease_owner = ?, lease_until = ?,
    updated_at = ?
  WHERE id = ? AND state IN ('succeeded','rejected') AND next_attempt_at <= ?
    AND (lease_until IS NULL OR lease_until <= ?)
  RETURNING *`;

/** succeeded|rejected → callback_sent: (now, now, id, owner). */
export const MARK_CALLBACK_SENT = `UPDATE transactions SET state = 'callback_sent', last_error = NULL,
    receiver_code = NULL, next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, completed_at = ?,
    updated_at = ?
  WHERE id = ? AND lease_owner = ? AND state IN ('succeeded','rejected')`;

/**
 * The arguments of SCHEDULE_RETRY (`at`: when the next attempt is due) and MARK_CALLBACK_FAILED (`at`: when it
 * completed): (error, receiverCode, at, now, id, owner).
 */
export function failureArgs(
  f: CallbackFailure,
  at: string,
  now: string,
  id: number,
  owner: string,
): Array<string | number | null> {
  return [f.error.slice(0, 999), f.receiverCode ?? null, at, now, id, owner];
}

/** A failed callback attempt with another due: (error, receiverCode, nextAt, now, id, owner). */
export const SCHEDULE_RETRY = `UPDATE transactions SET last_error = ?, receiver_code = ?, next_attempt_at = ?,
    lease_owner = NULL, lease_until = NULL, updated_at = ?
  WHERE id = ? AND lease_owner = ? AND state IN ('succeeded','rejected')`;

/** succeeded|rejected → callback_failed: (error, receiverCode, now, now, id, owner). */
export const MARK_CALLBACK_FAILED = `UPDATE transactions SET state = 'callback_failed', last_error = ?,
    receiver_code = ?, next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, completed_at = ?,
    updated_at = ?
  WHERE id = ? AND lease_owner = ? AND state IN ('succeeded','rejected')`;

/** callback_failed → succeeded|rejected: (now, now, id). */
export const REOPEN_FAILED = `UPDATE transactions SET
    state = CASE outcome WHEN 'succ' THEN 'succeeded' ELSE 'rejected' END,
    attempts = 0, next_attempt_at = ?, completed_at = NULL, updated_at = ?
  WHERE id = ? AND state = 'callback_failed'`;

/** (url, id). */
export const SET_CALLBACK_URL = "UPDATE transactions SET callback_url = ? WHERE id = ?";

/** The statement and arguments of cancelOpenTransactions. */
export function cancelOpen(
  of: { senderId: string } | { id: number },
  reason: string,
  now: string,
): { sql: string; args: Array<string | number> } {
  const [column, value] = "id" in of ? ["id", of.id] : ["sender_id", of.senderId];
  return {
    sql: `UPDATE transactions SET state = 'callback_failed', last_error = ?, next_attempt_at = NULL,
         lease_owner = NULL, lease_until = NULL, completed_at = ?, updated_at = ?
       WHERE ${column} = ? AND state IN ${OPEN}`, // column is one of two literals above
    args: [reason.slice(0, 999), now, now, value],
  };
}

/** (senderId, limit). */
export const OPEN_IDS =
  `SELECT id FROM transactions WHERE sender_id = ? AND state IN ${OPEN} ORDER BY id LIMIT ?+0`;

/** Drops every lease held (an attempt let go keeps its retry time: lease_until without an owner). */
export const RELEASE_LEASES = `UPDATE transactions SET lease_owner = NULL, lease_until = NULL
  WHERE lease_owner IS NOT NULL AND state IN ('processing','succeeded','rejected')`;

/**
 * Due transactions, the first part of the one query for due work (src/jobs/due_store.ts): (waitingBefore, now, now,
 * now, limit). A disabled sender's work waits: leaving it out keeps it from filling the batch other senders' work needs.
 */
export const DUE = `SELECT id FROM (
    SELECT id, sender_id FROM transactions WHERE state IN ('received','pending') AND updated_at <= ?
    UNION ALL SELECT id, sender_id FROM transactions WHERE state = 'processing'
      AND (lease_until IS NULL OR lease_until <= ?)
    UNION ALL SELECT id, sender_id FROM transactions WHERE state IN ('succeeded','rejected')
      AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)) AS due
  WHERE sender_id NOT IN ${DISABLED_SENDERS}
  LIMIT ?+0`;

/** With its result: (id). */
export const TXN_BY_ID = `${WITH_RESULT} WHERE t.id = ?`;
/** With its result: (correlationId). */
export const TXN_BY_CORRELATION = `${WITH_RESULT} WHERE t.correlation_id = ?`;
/** With its result: (correlationId, senderId). */
export const TXN_BY_CORRELATION_OF = `${WITH_RESULT} WHERE t.correlation_id = ? AND t.sender_id = ?`;

/** With their results: (senderId, registry, since, transactionId). */
export const TXN_BY_TRANSACTION_ID = `${WITH_RESULT}
  WHERE t.sender_id = ? AND t.registry = ? AND t.created_at >= ?
    AND t.action <> 'txn-status' AND t.transaction_id = ?
  ORDER BY t.id DESC LIMIT ${STATUS_ROWS}`;

/**
 * The newest STATUS_ROWS transactions of one reference id (bound `ref`, with (senderId, registry, since) as
 * `sender`, `registry`, `since` say): walked newest first along transaction_refs' key, so a reference id a sender
 * reuses in every request ("1") costs STATUS_ROWS rows read, not one per transaction it ever named.
 */
function newestOfRef(sender: string, ref: string, registry: string, since: string): string {
  // CROSS JOIN: SQLite keeps the written order (the refs first), which it might not choose without statistics.
  return `SELECT r.txn FROM transaction_refs r CROSS JOIN transactions u
      WHERE u.id = r.txn AND r.sender_id = ${sender} AND r.reference_id = ${ref} AND u.registry = ${registry}
        AND u.created_at >= ${since} AND u.action <> 'txn-status'
      ORDER BY r.txn DESC LIMIT ${STATUS_ROWS}`;
}

/**
 * With their results: the sender's newest transactions on a registry since a time holding any of `count`
 * reference ids; SQLite binds (senderId, ref, registry, since) per reference id.
 */
export function byReferenceIds(count: number): string {
  const arms = Array.from({ length: count }, () => `SELECT txn FROM (${newestOfRef("?", "?", "?", "?")})`);
  return `${WITH_RESULT} WHERE t.id IN (${arms.join(" UNION ALL ")}) ORDER BY t.id DESC LIMIT ${STATUS_ROWS}`;
}

/** byReferenceIds on PostgreSQL: ($1 senderId, $2 the reference ids as text[], $3 registry, $4 since). */
export const BY_REFERENCE_IDS_PG =
  `${WITH_RESULT} WHERE t.id IN (SELECT x.txn FROM unnest($2::text[]) AS ref(id)
    CROSS JOIN LATERAL (${newestOfRef("$1", "ref.id", "$3", "$4")}) x)
  ORDER BY t.id DESC LIMIT ${STATUS_ROWS}`;

/**
 * With their results: the sender's transactions on a registry since a time whose request carried any of the
 * message ids `list` binds ((senderId, registry, since, ...list)).
 */
export function byMessageIds(list: string): string {
  return `${WITH_RESULT} WHERE t.sender_id = ? AND t.registry = ? AND t.created_at >= ? AND t.message_id ${list}
      AND t.action <> 'txn-status'
    ORDER BY t.id DESC LIMIT ${STATUS_ROWS}`;
}

/**
 * The columns a list reads: its summary's (operations.ts summarize) and the row id (the cursor), never the request,
 * answer or ACK bodies (a request message may be DCI_BODY_LIMIT large, and `txn list` reads up to 10,000 rows).
 */
export const TXN_LIST_COLUMNS = [
  "id",
  "correlation_id",
  "transaction_id",
  "sender_id",
  "action",
  "registry",
  "state",
  "outcome",
  "status_reason_code",
  "attempts",
  "last_error",
  "receiver_code",
  "next_attempt_at",
  "created_at",
  "updated_at",
] as const;

/** The list statement for filter `f`, after the cursor condition `after` (from the cursor's row). */
export function txnListQuery(
  f: TxnFilter,
  after: { sql: string; args: [string, number] } | undefined,
): { sql: string; args: Array<string | number> } {
  // A state other than the one most transactions end in is the rarer filter: an open state's (state, created_at)
  // index reads its few rows, the other filters tested on them (`(x || '')` keeps the planner off their indexes,
  // which would read every transaction of the sender, the registry or the action to find them). callback_failed's
  // rows may be many (a dead receiver's): with a sender, its own index of the failed rows (migration 0048, whose
  // condition the statement names as a constant) reads that sender's alone.
  const failed = f.state === "callback_failed";
  const rare = f.state !== undefined && f.state !== "callback_sent";
  const onRows = (column: string) => rare ? `(${column} || '') = ?` : `${column} = ?`;
  const { where, args } = whereOf([
    ["state = ?", failed ? undefined : f.state],
    [failed ? "sender_id = ?" : onRows("sender_id"), f.senderId],
    [onRows("action"), f.action],
    ["transaction_id = ?", f.transactionId],
    [onRows("registry"), f.registry],
    ["created_at >= ?", f.since],
    ["created_at < ?", f.until],
  ]);
  if (failed) where.unshift("state = 'callback_failed'");
  if (after) {
    where.push(after.sql);
    args.push(...after.args);
  }
  const sql = `SELECT ${TXN_LIST_COLUMNS.join(", ")} FROM transactions ${
    where.length ? "WHERE " + where.join(" AND ") : ""
  }
    ORDER BY created_at DESC, id DESC LIMIT ?+0`;
  return { sql, args: [...args, f.limit] };
}

/**
 * Finished transactions past retention, a chunk at a time: (cutoff, cutoff, cutoff, chunk). Both the creation and
 * the last change are past the cutoff (one an operator retried recently stays); the (state, created_at) index
 * bounds the scan. The state and last change are checked again on the row deleted: on PostgreSQL a DELETE that
 * waited for a row's lock re-checks only its own WHERE on the row as committed, so an operator's retry committing
 * meanwhile keeps its transaction.
 */
export const PURGE_FINISHED = `DELETE FROM transactions
  WHERE state IN ('callback_sent', 'callback_failed') AND updated_at < ? AND id IN (SELECT id FROM transactions
    WHERE state IN ('callback_sent', 'callback_failed') AND created_at < ? AND updated_at < ? LIMIT ?+0)`;

/** The lease and sender of a transaction, as a callback checks them right before sending: (id). */
export const LEASE_OF = `SELECT t.state, t.lease_owner, t.sender_id,
  (SELECT active FROM senders WHERE sender_id = t.sender_id) AS active FROM transactions t WHERE t.id = ?`;

/** Open transactions by state. */
export const OPEN_COUNTS =
  `SELECT state, COUNT(*) AS n FROM transactions WHERE state IN ${OPEN} GROUP BY state`;
/** Failed callbacks (their own partial index). */
export const FAILED_COUNT = "SELECT COUNT(*) AS n FROM transactions WHERE state = 'callback_failed'";
