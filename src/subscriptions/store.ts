/**
 * The subscriptions table. State moves are single conditional statements, so an operator, the expiry cron and
 * a re-run processor cannot move one subscription twice.
 */
import { type Db, transaction } from "../db/sqlite.ts";
import { lastEventId } from "../registry/events.ts";
import { stmt } from "../db/statements.ts";
import { reopenUndelivered } from "./notifications.ts";

/** Subscription states. */
export const SUBSCRIPTION_STATES = ["pending", "active", "cancelled", "expired", "error"] as const;

/** A subscription state. */
export type SubscriptionState = typeof SUBSCRIPTION_STATES[number];

/** States in which a subscription still counts (limit, duplicates) and can be cancelled. */
export const LIVE_STATES: readonly SubscriptionState[] = ["pending", "active", "error"];

/** One stored subscription. */
export interface SubscriptionRow {
  id: number;
  code: string;
  sender_id: string;
  registry: string;
  reg_type: string | null;
  /** `registration`, `update`, `delete`, or a registry event type (its profile's first name, e.g. crvs deaths). */
  reg_event_type: string;
  /** Storage record type (`person`, `group`, `crvs_person`, ...). */
  record_type: string;
  notify_record_type: string;
  filter_type: string | null;
  filter: string | null;
  frequency: string | null;
  dedupe_key: string;
  callback_url: string;
  start_time: string | null;
  end_time: string | null;
  state: SubscriptionState;
  from_event_id: number;
  correlation_id: string;
  reference_id: string;
  locale: string | null;
  consecutive_failures: number;
  last_error: string | null;
  lease_until: string | null;
  cancelled_by: string | null;
  created_at: string;
  updated_at: string;
  activated_at: string | null;
  ended_at: string | null;
}

/**
 * What fan-out reads of a subscription (FANOUT_COLUMNS): at 30,000 subscriptions the whole rows took about four
 * times as long to read (~0.35 s against ~0.08 s on SQLite).
 */
export type FanOutSubscription = Pick<
  SubscriptionRow,
  | "id"
  | "code"
  | "registry"
  | "record_type"
  | "reg_event_type"
  | "filter_type"
  | "filter"
  | "frequency"
  | "start_time"
  | "end_time"
  | "from_event_id"
>;

const FANOUT_COLUMNS =
  "id, code, registry, record_type, reg_event_type, filter_type, filter, frequency, start_time, end_time, from_event_id";

/** What the subscribe processor writes. */
export type NewSubscription =
  & Pick<
    SubscriptionRow,
    | "sender_id"
    | "registry"
    | "reg_type"
    | "reg_event_type"
    | "record_type"
    | "notify_record_type"
    | "filter_type"
    | "filter"
    | "frequency"
    | "dedupe_key"
    | "callback_url"
    | "start_time"
    | "end_time"
    | "correlation_id"
    | "reference_id"
    | "locale"
  >
  & {
    active: boolean;
    now: string; /** A code chosen by an operator (default: a fresh UUID). */
    code?: string;
  };

/** The outcome of an insert: created, a re-run of the same item, or refused. */
export type InsertOutcome =
  | { kind: "created" | "existing"; row: SubscriptionRow }
  | { kind: "duplicate" | "limit" | "code_taken" | "no_sender" };

/**
 * The statements of this store in SQLite's dialect. Those both backends run word for word are shared with the
 * PostgreSQL store (src/subscriptions/pg_store.ts numbers their placeholders); the rest are written per backend.
 */
export const SUBSCRIPTION_SQL = {
  byRequest: "SELECT * FROM subscriptions WHERE correlation_id = ? AND reference_id = ?",
  senderExists: "SELECT 1 AS one FROM senders WHERE sender_id = ?",
  codeTaken: "SELECT 1 FROM subscriptions WHERE code = ?",
  liveDuplicate: `SELECT code FROM subscriptions WHERE sender_id = ? AND dedupe_key = ?
       AND state IN ('pending','active','error')`,
  liveCount:
    "SELECT COUNT(*) AS n FROM subscriptions WHERE sender_id = ? AND state IN ('pending','active','error')",
  insert: `INSERT INTO subscriptions (code, sender_id, registry, reg_type, reg_event_type, record_type,
       notify_record_type, filter_type, filter, frequency, dedupe_key, callback_url, start_time, end_time, state,
       from_event_id, correlation_id, reference_id, locale, created_at, updated_at, activated_at)
     VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?) RETURNING *`,
  byCode: "SELECT * FROM subscriptions WHERE code = ?",
  byId: "SELECT * FROM subscriptions WHERE id = ?",
  approve: `UPDATE subscriptions SET state = 'active', activated_at = ?, updated_at = ?,
       from_event_id = (SELECT COALESCE(MAX(id), 0) FROM registry_events)
     WHERE code = ? AND state = 'pending' RETURNING *`,
  reactivate:
    `UPDATE subscriptions SET state = 'active', consecutive_failures = 0, last_error = NULL, updated_at = ?
       WHERE code = ? AND state = 'error' RETURNING *`,
  end: `UPDATE subscriptions SET state = ?, ended_at = ?, updated_at = ?, cancelled_by = ?
       WHERE id = ? AND state IN ('pending','active','error') RETURNING *`,
  // (now, now, correlation id): every live subscription one subscribe request made, cancelled (its answer was a
  // failure, so its sender never learned their codes); its waiting notifications are failed by the sweep.
  cancelOfRequest: `UPDATE subscriptions SET state = 'cancelled', ended_at = ?, updated_at = ?,
       cancelled_by = 'processing-failed'
     WHERE correlation_id = ? AND state IN ('pending','active','error') RETURNING id`,
  fanOut: `SELECT ${FANOUT_COLUMNS} FROM subscriptions WHERE state IN ('active','error') ORDER BY id`,
  // Those made or approved since event ? was the newest (their from_event_id is the newest event then).
  fanOutSince:
    `SELECT ${FANOUT_COLUMNS} FROM subscriptions WHERE state IN ('active','error') AND from_event_id >= ? ORDER BY id`,
  counts: "SELECT state, COUNT(*) AS n FROM subscriptions GROUP BY state ORDER BY state",
} as const;

/** The bound values of SUBSCRIPTION_SQL.insert for `s`, its events in scope after `fromEventId`. */
export function insertValues(s: NewSubscription, fromEventId: number): Array<string | number | null> {
  return [
    s.code ?? crypto.randomUUID(),
    s.sender_id,
    s.registry,
    s.reg_type,
    s.reg_event_type,
    s.record_type,
    s.notify_record_type,
    s.filter_type,
    s.filter,
    s.frequency,
    s.dedupe_key,
    s.callback_url,
    s.start_time,
    s.end_time,
    s.active ? "active" : "pending",
    fromEventId,
    s.correlation_id,
    s.reference_id,
    s.locale,
    s.now,
    s.now,
    s.active ? s.now : null,
  ];
}

/** The SELECT of a page of `listSubscriptions` (`?` placeholders) and its values. */
export function listQuery(f: SubscriptionFilter): { sql: string; params: Array<string | number> } {
  const where: string[] = [];
  const params: Array<string | number> = [];
  if (f.sender) (where.push("sender_id = ?"), params.push(f.sender));
  if (f.state) (where.push("state = ?"), params.push(f.state));
  if (f.registry) (where.push("registry = ?"), params.push(f.registry));
  if (f.before !== undefined) (where.push("id < ?"), params.push(f.before));
  params.push(Math.max(1, Math.min(f.limit ?? 100, 1000)), Math.max(0, f.offset ?? 0));
  return {
    sql: `SELECT * FROM subscriptions ${where.length ? "WHERE " + where.join(" AND ") : ""}
     ORDER BY id DESC LIMIT ?+0 OFFSET ?+0`,
    params,
  };
}

/**
 * Inserts a subscription unless the same (correlation, reference) already made one (returned as is), its chosen
 * code is taken, the sender already holds a live one with the same criteria, or the sender is at `limit`. One
 * SQLite transaction.
 */
export function insertSubscription(db: Db, s: NewSubscription, limit: number): InsertOutcome {
  return transaction(db, () => insertInTx(db, s, limit));
}

/** The subscription a subscribe request's item made (its correlation and reference ids), if any. */
export function subscriptionByRequest(db: Db, correlationId: string, referenceId: string) {
  return stmt(db, SUBSCRIPTION_SQL.byRequest).get(correlationId, referenceId) as SubscriptionRow | undefined;
}

function insertInTx(db: Db, s: NewSubscription, limit: number): InsertOutcome {
  const again = subscriptionByRequest(db, s.correlation_id, s.reference_id);
  if (again) return { kind: "existing", row: again };
  // A sender deleted while its subscribe was processed: its deletion cancelled the live subscriptions it saw,
  // and one made after it would live on under an id a new sender may be registered with.
  if (!stmt(db, SUBSCRIPTION_SQL.senderExists).get(s.sender_id)) return { kind: "no_sender" };
  // Codes are unique while their subscription is kept (an ended one keeps its code until the retention deletes
  // it, DCI_SUBSCRIPTION_RETENTION_DAYS): a receipt or status query names one exactly.
  if (s.code !== undefined && stmt(db, SUBSCRIPTION_SQL.codeTaken).get(s.code)) {
    return { kind: "code_taken" };
  }
  if (stmt(db, SUBSCRIPTION_SQL.liveDuplicate).get(s.sender_id, s.dedupe_key)) return { kind: "duplicate" };
  const { n } = stmt(db, SUBSCRIPTION_SQL.liveCount).get(s.sender_id) as { n: number };
  if (n >= limit) return { kind: "limit" };
  const row = stmt(db, SUBSCRIPTION_SQL.insert).get(
    ...insertValues(s, lastEventId(db)),
  ) as unknown as SubscriptionRow;
  return { kind: "created", row };
}

/** The code of the sender's live subscription with this dedupe key, if any (to name it in a refusal). */
export function liveDuplicateCode(db: Db, senderId: string, dedupeKey: string): string | undefined {
  const row = stmt(db, SUBSCRIPTION_SQL.liveDuplicate).get(senderId, dedupeKey) as
    | { code: string }
    | undefined;
  return row?.code;
}

/** One subscription by its public code. */
export function getSubscription(db: Db, code: string): SubscriptionRow | undefined {
  return stmt(db, SUBSCRIPTION_SQL.byCode).get(code) as SubscriptionRow | undefined;
}

/** One subscription by row id. */
export function getSubscriptionById(db: Db, id: number): SubscriptionRow | undefined {
  return stmt(db, SUBSCRIPTION_SQL.byId).get(id) as SubscriptionRow | undefined;
}

/** Filters for listing subscriptions. */
export interface SubscriptionFilter {
  sender?: string;
  state?: string;
  registry?: string;
  /** Only ids below this (keyset cursor, newest first). */
  before?: number;
  limit?: number;
  offset?: number;
}

/** Subscriptions, newest first. */
export function listSubscriptions(db: Db, f: SubscriptionFilter = {}): SubscriptionRow[] {
  const q = listQuery(f);
  return stmt(db, q.sql).all(...q.params) as unknown as SubscriptionRow[];
}

/** pending → active (operator approval); events from now on are in scope. */
export function approveSubscription(db: Db, code: string, now: string): SubscriptionRow | undefined {
  return stmt(db, SUBSCRIPTION_SQL.approve).get(now, now, code) as SubscriptionRow | undefined;
}

/**
 * error → active (operator): the failure count restarts, and delivery resumes in order from where it stopped:
 * first the notifications that failed since the last delivered one (re-sent, `resent` counts them), then
 * those that waited since the error. One SQLite transaction.
 */
export function reactivateSubscription(
  db: Db,
  code: string,
  now: string,
): { row: SubscriptionRow; resent: number } | undefined {
  return transaction(db, () => {
    const row = stmt(db, SUBSCRIPTION_SQL.reactivate).get(now, code) as SubscriptionRow | undefined;
    return row ? { row, resent: reopenUndelivered(db, row.id, now) } : undefined;
  });
}

/**
 * (after id, cutoff, chunk): deletes ended subscriptions (cancelled or expired) that ended before the cutoff and
 * have no notification left (the notification retention deletes those first; a pending one is failed by the
 * sweep), at most `chunk` of them in id order past `after`, returning their ids (`deleteInIdOrder`, both backends;
 * src/transactions/retention.ts).
 */
export const PURGE_ENDED_SUBSCRIPTIONS =
  `DELETE FROM subscriptions WHERE id IN (SELECT s.id FROM subscriptions s
  WHERE s.id > ? AND s.state IN ('cancelled', 'expired') AND COALESCE(s.ended_at, s.updated_at) < ?
    AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.subscription_id = s.id)
  ORDER BY s.id LIMIT ?+0) RETURNING id`;

/**
 * What ending a subscription leaves: its waiting notifications. The end is one small write (the subscription's
 * row); from then on no lane sends them (a lane sends only an active subscription's), and they are failed after it,
 * ENDED_CHUNK rows a transaction (src/subscriptions/expiry.ts), each with the reason the subscription ended: a
 * deleted sender's (kept as the subscription's last_error), else "subscription cancelled" or "subscription
 * expired". Until its chunk fails it such a row is pending, and counted so. Both backends.
 */
export const ENDED_SQL = {
  // (now, subscription id, chunk): its oldest pending rows, none while it is live. Found by the subquery alone
  // (SQLite then takes them by rowid; with `status = 'pending'` here too it scanned every pending row of the
  // table per chunk); PostgreSQL adds that check (src/subscriptions/pg_notifications.ts).
  failChunk: `UPDATE notifications SET status = 'failed', updated_at = ?,
       last_error = (SELECT CASE WHEN s.cancelled_by = 'sender-deleted' THEN s.last_error
         ELSE 'subscription ' || s.state END FROM subscriptions s WHERE s.id = notifications.subscription_id)
     WHERE id IN (SELECT n.id FROM notifications n JOIN subscriptions s
       ON s.id = n.subscription_id WHERE n.subscription_id = ? AND n.status = 'pending'
         AND s.state IN ('cancelled','expired') ORDER BY n.id LIMIT ?+0)`,
  // (after id, limit): ended subscriptions still holding pending rows, by id (the sweep's pages).
  holding: `SELECT s.id FROM subscriptions s WHERE s.state IN ('cancelled','expired') AND s.id > ?
       AND EXISTS (SELECT 1 FROM notifications n WHERE n.subscription_id = s.id AND n.status = 'pending')
     ORDER BY s.id LIMIT ?+0`,
  // (sender id, limit): the same, of one sender.
  holdingOfSender:
    `SELECT s.id FROM subscriptions s WHERE s.sender_id = ? AND s.state IN ('cancelled','expired')
       AND EXISTS (SELECT 1 FROM notifications n WHERE n.subscription_id = s.id AND n.status = 'pending')
     ORDER BY s.id LIMIT ?+0`,
  waiting: "SELECT COUNT(*) AS n FROM notifications WHERE subscription_id = ? AND status = 'pending'",
} as const;

/** The most pending notifications of an ended subscription failed in one transaction (as the retention purge). */
export const ENDED_CHUNK = 2000;

/**
 * Ends a live subscription (cancelled by its sender or an operator, or expired): one statement. Its waiting
 * notifications are never sent from now on, and failed after it (ENDED_SQL).
 */
export function endSubscription(
  db: Db,
  id: number,
  to: "cancelled" | "expired",
  now: string,
  by?: string,
): SubscriptionRow | undefined {
  return stmt(db, SUBSCRIPTION_SQL.end).get(to, now, now, by ?? null, id) as SubscriptionRow | undefined;
}

/** Cancels every live subscription subscribe request `correlationId` made (SUBSCRIPTION_SQL.cancelOfRequest). */
export function cancelOfRequest(db: Db, correlationId: string, now: string): number {
  return stmt(db, SUBSCRIPTION_SQL.cancelOfRequest).all(now, now, correlationId).length;
}

/**
 * Cancels every live subscription of a deleted sender (or the one `id`) for good, recording `reason` and
 * `cancelled_by = 'sender-deleted'`; their waiting notifications are failed after it with the same reason
 * (ENDED_SQL). Runs inside the caller's transaction (the sender's delete). Returns how many subscriptions it
 * cancelled and how many notifications they had waiting (read, not written).
 */
export function cancelForDeletedSender(
  db: Db,
  of: { senderId: string } | { id: number },
  reason: string,
  now: string,
): { subscriptions: number; notifications: number } {
  const [sql, value] = cancelDeletedQuery(of);
  const ids = (stmt(db, sql).all(reason, now, now, value) as Array<{ id: number }>).map((r) => Number(r.id));
  let notifications = 0;
  const waiting = stmt(db, ENDED_SQL.waiting);
  for (const id of ids) notifications += Number((waiting.get(id) as { n: number }).n);
  return { subscriptions: ids.length, notifications };
}

/**
 * The UPDATE cancelling a deleted sender's live subscriptions (or the one `id`), returning their ids, and the value
 * it binds last: (reason, now, now, value). Both backends.
 */
export function cancelDeletedQuery(of: { senderId: string } | { id: number }): [string, string | number] {
  const [column, value] = "id" in of ? ["id", of.id] : ["sender_id", of.senderId];
  return [
    `UPDATE subscriptions SET state = 'cancelled', cancelled_by = 'sender-deleted', last_error = ?,
       lease_until = NULL, ended_at = ?, updated_at = ?
     WHERE ${column} = ? AND state IN ('pending','active','error') RETURNING id`, // column: one of two literals
    value,
  ];
}

/**
 * Live subscriptions whose end time has passed, and those in error since before the second parameter (both
 * backends; its updated_at is when it moved to error: nothing else writes it until a reactivation). An active one
 * first sends what it holds: the events of its window logged and not yet delivered (a cron frequency's are due at
 * its end time at the latest).
 */
/** Why a live subscription is due for expiry (end time before ?, or in error since before ?), on its row `s`. */
const EXPIRY_DUE =
  `((s.end_time IS NOT NULL AND s.end_time <= ?) OR (s.state = 'error' AND s.updated_at <= ?))
       AND s.state IN ('pending','active','error')
       AND NOT (s.state = 'active'
         AND EXISTS (SELECT 1 FROM notifications n WHERE n.subscription_id = s.id AND n.status = 'pending'))`;

export const DUE_FOR_EXPIRY = `SELECT id FROM subscriptions s WHERE ${EXPIRY_DUE} ORDER BY id LIMIT ?+0`;

/**
 * (now, now, id, end before, error since): expires the subscription when it is still due, checked in the write
 * itself: one reactivated after the cron read its id (error → active, its notifications reopened) stays active.
 */
export const EXPIRE_IF_DUE = `UPDATE subscriptions AS s SET state = 'expired', ended_at = ?, updated_at = ?,
       cancelled_by = NULL WHERE s.id = ? AND ${EXPIRY_DUE} RETURNING *`;

/** Expires subscription `id` if it is still due (EXPIRE_IF_DUE); the row as expired, or undefined. */
export function expireIfDue(
  db: Db,
  id: number,
  now: string,
  endBefore: string,
  errorSince: string,
): SubscriptionRow | undefined {
  return stmt(db, EXPIRE_IF_DUE).get(now, now, id, endBefore, errorSince) as SubscriptionRow | undefined;
}

/** Live subscriptions whose end time has passed or in error since before `errorSince` (the expiry cron). */
export function dueForExpiry(db: Db, now: string, errorSince: string, limit = 500): number[] {
  return (stmt(db, DUE_FOR_EXPIRY).all(now, errorSince, limit) as Array<{ id: number }>).map((r) =>
    Number(r.id)
  );
}

/**
 * Subscriptions that fan-out considers: active ones, and those in error (their log keeps growing, paused); with
 * `since`, those of them made or approved since event `since` was the newest.
 */
export function fanOutSubscriptions(db: Db, since?: number): FanOutSubscription[] {
  return (since === undefined
    ? stmt(db, SUBSCRIPTION_SQL.fanOut).all()
    : stmt(db, SUBSCRIPTION_SQL.fanOutSince).all(since)) as unknown as FanOutSubscription[];
}

/** Subscription counts by state. */
export function subscriptionCounts(db: Db): Array<{ state: string; n: number }> {
  return stmt(db, SUBSCRIPTION_SQL.counts).all() as Array<{ state: string; n: number }>;
}
