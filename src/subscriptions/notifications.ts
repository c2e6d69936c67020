/**
 * The notification log: one row per (subscription, registry event). Rows of one subscription are delivered in
 * id order (= event order); every write is conditional on the row still being pending.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { DISABLED_SENDERS } from "../senders/pause.ts";
import { EVENT_SNAPSHOT } from "../registry/events.ts";

/** Notification statuses. */
export const NOTIFICATION_STATUSES = ["pending", "sent", "failed", "received"] as const;

/** One notification log row. */
export interface NotificationRow {
  id: number;
  notification_id: string;
  subscription_id: number;
  event_id: number;
  event_type: string;
  record_type: string;
  record_count: number;
  message_id: string;
  attempts: number;
  status: typeof NOTIFICATION_STATUSES[number];
  last_error: string | null;
  /** The ERR code of a receiver that rejected the last attempt (HTTP 2xx, ack_status ERR). */
  receiver_code: string | null;
  next_attempt_at: string;
  created_at: string;
  updated_at: string;
  sent_at: string | null;
  received_at: string | null;
}

/** A notification as listed, with its subscription's code and sender. */
export type NotificationView = NotificationRow & { subscription_code: string; sender_id: string };

/** The statements both backends share word for word (src/subscriptions/pg_notifications.ts numbers them). */
export const NOTIFICATION_SQL = {
  // One row per element of a JSON array (bound as one parameter: no SQL text is built from values).
  insertMany:
    `INSERT OR IGNORE INTO notifications (notification_id, subscription_id, event_id, event_type, record_type,
    record_count, message_id, status, next_attempt_at, created_at, updated_at)
    SELECT j.value ->> 0, j.value ->> 1, j.value ->> 2, j.value ->> 3, j.value ->> 4, 1, j.value ->> 5, 'pending',
      j.value ->> 6, ?2, ?3 FROM json_each(?1) j ORDER BY j.key`,
  // With their registry events (LEFT JOIN: a row whose event is gone comes without one).
  pending: `SELECT n.*, ${EVENT_SNAPSHOT} AS ev_snapshot, e.created_at AS ev_at FROM notifications n
    LEFT JOIN registry_events e ON e.id = n.event_id
    WHERE n.subscription_id = ? AND n.status = 'pending' ORDER BY n.id LIMIT ?+0`,
  // One index seek per active subscription (its oldest pending row), never a scan of the whole backlog: with
  // a million events pending for each of twenty subscriptions, a GROUP BY over them took seconds per poll.
  heads: `SELECT s.id AS sid FROM subscriptions s
    WHERE s.state = 'active' AND s.sender_id NOT IN ${DISABLED_SENDERS}
      AND (SELECT n.next_attempt_at FROM notifications n WHERE n.subscription_id = s.id AND n.status = 'pending'
        ORDER BY n.id LIMIT 1) <= ? ORDER BY s.id`,
  sent:
    `UPDATE notifications SET status = 'sent', attempts = attempts + 1, last_error = NULL, receiver_code = NULL,
    sent_at = ?, updated_at = ? WHERE id = ? AND status = 'pending'`,
  retry:
    `UPDATE notifications SET attempts = attempts + 1, last_error = ?, receiver_code = ?, next_attempt_at = ?,
    updated_at = ? WHERE id = ? AND status = 'pending'`,
  failed:
    `UPDATE notifications SET status = 'failed', attempts = attempts + 1, last_error = ?, receiver_code = ?,
    updated_at = ? WHERE id = ? AND status = 'pending'`,
  reopenBySubscription:
    `UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
       WHERE subscription_id = ? AND status = 'failed'`,
  byNotificationId: `SELECT n.*, s.code AS subscription_code, s.sender_id FROM notifications n
     JOIN subscriptions s ON s.id = n.subscription_id WHERE n.notification_id = ?`,
  // A subscription's newest pending row (its pending index, read backwards) and its due time.
  lastDue: `SELECT next_attempt_at FROM notifications WHERE subscription_id = ? AND status = 'pending'
    ORDER BY id DESC LIMIT 1`,
  // (due, now, subscription, above): its never-attempted pending rows due after `above` become due at `due`.
  pullForward: `UPDATE notifications SET next_attempt_at = ?, updated_at = ?
    WHERE subscription_id = ? AND status = 'pending' AND attempts = 0 AND next_attempt_at > ?`,
  cursorAt: "SELECT created_at FROM notifications WHERE id <= ? ORDER BY id DESC LIMIT 1",
  counts: "SELECT status, COUNT(*) AS n FROM notifications GROUP BY status ORDER BY status",
};
const SQL = NOTIFICATION_SQL;

/** A notification for fan-out to log: the subscription, the event, and when it is due (held by a frequency). */
export interface NewNotification {
  subscriptionId: number;
  eventId: number;
  eventType: string;
  recordType: string;
  dueAt: string;
  /** Held by a cron frequency (dueAt is its next run after the event): logged due in id order (`heldInOrder`). */
  held?: boolean;
}

/** A held subscription's rows not yet due after `above` to be pulled forward to `dueAt` before new rows are logged. */
export interface PullForward {
  subscriptionId: number;
  dueAt: string;
  above: string;
}

/**
 * Keeps each held subscription's notifications due in id order. A lane sends a subscription's rows oldest first
 * and stops at the first one not due, and an event's id and time need not agree (an import batch is stamped
 * when it starts and commits later; another write may commit in between): a row due at 12:00 logged before one
 * due at 11:00 would hold it back a whole cron period. So a row takes the earliest due of the rows logged after
 * it (in `rows`, changed in place), and the pending rows already logged are pulled forward the same way: one
 * PullForward per held subscription, its earliest due here (they go out a little early, in order).
 */
export function heldInOrder(rows: NewNotification[], now: string): PullForward[] {
  const earliest = new Map<number, string>();
  for (let i = rows.length - 1; i >= 0; i--) {
    const r = rows[i];
    if (!r.held) continue;
    const later = earliest.get(r.subscriptionId);
    if (later !== undefined && later < r.dueAt) r.dueAt = later;
    else earliest.set(r.subscriptionId, r.dueAt);
  }
  // Rows due by now are due already (a sealed batch among them): only those not yet due are pulled.
  return [...earliest].map(([subscriptionId, dueAt]) => ({
    subscriptionId,
    dueAt,
    above: dueAt > now ? dueAt : now,
  }));
}

/**
 * Logs pending notifications (a repeat of a (subscription, event) is ignored) in one statement, in the order
 * given, so ids (= delivery order within a subscription) follow it, held ones due in id order (`heldInOrder`);
 * call inside fan-out. Returns how many.
 */
export function insertNotifications(db: Db, rows: NewNotification[], now: string): number {
  if (rows.length === 0) return 0;
  for (const p of heldInOrder(rows, now)) {
    // The newest pending row is the latest due unless the order was broken: one index read, rarely the update.
    const last = stmt(db, SQL.lastDue).get(p.subscriptionId) as { next_attempt_at: string } | undefined;
    if (last && last.next_attempt_at > p.above) {
      stmt(db, SQL.pullForward).run(p.dueAt, now, p.subscriptionId, p.above);
    }
  }
  return Number(stmt(db, SQL.insertMany).run(insertArray(rows), now, now).changes);
}

/**
 * The JSON array the batch insert binds (both backends): per row its notification id, subscription, event, event
 * type, record type, message id (fresh ids each) and due time.
 */
export function insertArray(rows: NewNotification[]): string {
  return JSON.stringify(rows.map((r) => [
    crypto.randomUUID(),
    r.subscriptionId,
    r.eventId,
    r.eventType,
    r.recordType,
    crypto.randomUUID(),
    r.dueAt,
  ]));
}

/** A registry event as a notify carries it: the record's snapshot and when the change happened. */
export interface NotifyEvent {
  snapshot: string;
  created_at: string;
}

/** A pending notification as a lane sends it: the row, and its registry event (none when the event is gone). */
export interface PendingNotification {
  n: NotificationRow;
  event?: NotifyEvent;
}

/** A row of `SQL.pending`: the notification's columns, then its event's. */
export type PendingRow = NotificationRow & { ev_snapshot: string | null; ev_at: string | null };

/**
 * The next notifications of a subscription to deliver, oldest first, at most `limit`, each with its registry
 * event: what a lane reads ahead, one query for several sends.
 */
export function pendingOf(db: Db, subscriptionId: number, limit: number): PendingNotification[] {
  return (stmt(db, SQL.pending).all(subscriptionId, limit) as unknown as PendingRow[]).map(
    pendingNotification,
  );
}

/** A `SQL.pending` row as the notification and its event (both backends). */
export function pendingNotification(row: PendingRow): PendingNotification {
  const { ev_snapshot: snapshot, ev_at: createdAt, ...n } = row;
  return {
    n: n as NotificationRow,
    event: snapshot !== null && createdAt !== null ? { snapshot, created_at: createdAt } : undefined,
  };
}

/** Active subscriptions whose next notification is due at `now` (a disabled sender's wait). */
export function dueLanes(db: Db, now: string): number[] {
  return (stmt(db, SQL.heads).all(now) as Array<{ sid: number }>).map((r) => Number(r.sid));
}

/** pending → sent. */
export function markSent(db: Db, id: number, now: string): boolean {
  return Number(stmt(db, SQL.sent).run(now, now, id).changes) > 0;
}

/** Why an attempt failed, and the receiver's ERR code when it rejected the envelope. */
export interface AttemptFailure {
  error: string;
  receiverCode?: string;
}

/** Counts a failed attempt and schedules the next one. */
export function markRetry(db: Db, id: number, f: AttemptFailure, nextAt: string, now: string): boolean {
  return Number(stmt(db, SQL.retry).run(f.error, f.receiverCode ?? null, nextAt, now, id).changes) > 0;
}

/** pending → failed after the last attempt (or a permanent refusal). */
export function markFailed(db: Db, id: number, f: AttemptFailure, now: string): boolean {
  return Number(stmt(db, SQL.failed).run(f.error, f.receiverCode ?? null, now, id).changes) > 0;
}

/**
 * failed → pending, due now with a fresh attempt budget (an operator's retry): every failed one of a subscription
 * (one notification, with its batch, is src/subscriptions/batches.ts `REOPEN_BATCH`). The lane sends pending rows in id order, so re-sent ones go before any
 * later notification still waiting. The notification id and message_id stay, for receivers to de-duplicate.
 */
export function reopenFailed(db: Db, of: { subscriptionId: number }, now: string): number {
  return Number(stmt(db, SQL.reopenBySubscription).run(now, now, of.subscriptionId).changes);
}

/**
 * failed → pending for the notifications of a subscription that failed after its last delivered one (the run
 * that moved it to error), so reactivation re-sends them in order; older failures stay failed (re-sending them
 * would break the order the receiver already saw; an operator can still retry them by id). Returns the count.
 */
export function reopenUndelivered(db: Db, subscriptionId: number, now: string): number {
  return Number(stmt(db, REOPEN_UNDELIVERED).run(now, now, subscriptionId, subscriptionId).changes);
}

/** The statement of `reopenUndelivered` (both backends). */
export const REOPEN_UNDELIVERED =
  `UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
       WHERE subscription_id = ? AND status = 'failed' AND id > (SELECT COALESCE(MAX(id), 0)
         FROM notifications WHERE subscription_id = ? AND status IN ('sent','received'))`;

/** One notification by its public id, with its subscription's code and sender. */
export function getNotification(db: Db, notificationId: string): NotificationView | undefined {
  return stmt(db, SQL.byNotificationId).get(notificationId) as NotificationView | undefined;
}

/** The outcome of a receipt. */
export type ReceiptOutcome =
  | { ok: true; row: NotificationView; already: boolean }
  | { ok: false; reason: "unknown" | "not_yours" };

/**
 * What a receipt names: a notification (its id or the notify message_id), optionally within one subscription,
 * or only a subscription code, which names that subscription's latest delivered notification (OpenSPP's
 * `receipt_information.subscription_code`).
 */
export type ReceiptTarget =
  | { notificationId: string; subscriptionCode?: string }
  | { notificationId?: undefined; subscriptionCode: string };

const JOINED = `SELECT n.*, s.code AS subscription_code, s.sender_id FROM notifications n
  JOIN subscriptions s ON s.id = n.subscription_id`;

/** The statements of `markReceived` (both backends; PostgreSQL locks the notify of the row it reads). */
export const RECEIPT_SQL = {
  // By code: the latest sent or received one, so a repeat of the same receipt finds the one it marked.
  byCode: `${JOINED} WHERE s.code = ? AND n.status IN ('sent','received') ORDER BY n.event_id DESC LIMIT 1`,
  // A batch's message_id names every member: the first one stands for the batch.
  byId: `${JOINED} WHERE n.notification_id = ? OR n.message_id = ? ORDER BY n.id LIMIT 1`,
  byRowId: `${JOINED} WHERE n.id = ?`,
  // PostgreSQL: the rows of one notify (subscription id, message id) locked in id order, as a lane marks them.
  lockNotify:
    "SELECT id FROM notifications WHERE subscription_id = ? AND message_id = ? ORDER BY id FOR UPDATE",
  mark: `UPDATE notifications SET status = 'received', received_at = ?, updated_at = ?,
       sent_at = COALESCE(sent_at, ?) WHERE id = ? AND status != 'received' RETURNING *`,
  // A batched notify (cron frequency) carried its siblings under the same message_id: the receiver has them too.
  siblings:
    `UPDATE notifications SET status = 'received', received_at = ?, updated_at = ?, sent_at = COALESCE(sent_at, ?)
     WHERE subscription_id = ? AND message_id = ? AND id != ? AND status != 'received'`,
};

/** A receipt's target in one shape. */
export function receiptTarget(target: string | ReceiptTarget): ReceiptTarget {
  return typeof target === "string" ? { notificationId: target } : target;
}

/**
 * What the row a receipt names means before anything is written: a refusal, already received, or undefined
 * (mark it).
 */
export function receiptRefusal(
  row: NotificationView | undefined,
  senderId: string,
  t: ReceiptTarget,
): ReceiptOutcome | undefined {
  if (!row) return { ok: false, reason: "unknown" };
  if (row.sender_id !== senderId) return { ok: false, reason: "not_yours" };
  if (t.subscriptionCode !== undefined && row.subscription_code !== t.subscriptionCode) {
    return { ok: false, reason: "unknown" };
  }
  if (row.status === "received") return { ok: true, row, already: true };
  return undefined;
}

/**
 * Marks one of `senderId`'s notifications received (by notification id, the notify message_id, or the latest
 * delivered one of a subscription code). A pending one named by id counts as delivered too (the receiver has
 * it), which stops its retries. Idempotent: a repeat finds the same notification received.
 */
export function markReceived(
  db: Db,
  senderId: string,
  target: string | ReceiptTarget,
  now: string,
): ReceiptOutcome {
  const t = receiptTarget(target);
  const row =
    (t.notificationId === undefined
      ? stmt(db, RECEIPT_SQL.byCode).get(t.subscriptionCode)
      : stmt(db, RECEIPT_SQL.byId).get(t.notificationId, t.notificationId)) as NotificationView | undefined;
  const refused = receiptRefusal(row, senderId, t);
  if (refused || !row) return refused!;
  const updated = stmt(db, RECEIPT_SQL.mark).get(now, now, now, row.id) as NotificationRow | undefined;
  stmt(db, RECEIPT_SQL.siblings).run(now, now, now, row.subscription_id, row.message_id, row.id);
  return { ok: true, row: { ...row, ...(updated ?? {}) }, already: !updated };
}

/** Filters for listing notifications. */
export interface NotificationFilter {
  subscription?: string;
  sender?: string;
  status?: string;
  since?: string;
  until?: string;
  /** Only ids below this (keyset cursor, newest first). */
  before?: number;
  limit?: number;
  offset?: number;
}

/**
 * Notifications, newest first by (created_at, id), with their subscription code and sender. The status, the
 * subscription and the time window each have an index in that order (migrations 0005, 0023); the cursor is a
 * row id, whose row's created_at starts the page (as listTransactions).
 */
export function listNotifications(db: Db, f: NotificationFilter = {}): NotificationView[] {
  const at = f.before === undefined
    ? undefined
    : stmt(db, SQL.cursorAt).get(f.before) as { created_at: string } | undefined;
  const { queries, limit } = notificationListQueries(f, at?.created_at);
  let rows: NotificationView[] = [];
  for (const q of queries) {
    rows = stmt(db, q.sql).all(...q.params) as unknown as NotificationView[];
    if (rows.length === limit) break;
  }
  return rows;
}

/** A list statement and its bound values. */
export interface ListQuery {
  sql: string;
  params: Array<string | number>;
}

/**
 * The notifications newer than the oldest of which a sender's page is looked for first (the sender's filter has no
 * index in the list's order: see notificationListQueries).
 */
export const SENDER_WINDOW = 5_000;

/**
 * The statements of `f`'s page (both backends), in the order to run them: the first that answers `limit` rows
 * answers the page, else the last's rows are it (none: the cursor has no row at or below it). A sender's page (no
 * subscription named) is looked for first among the newest SENDER_WINDOW notifications of the other filters, read
 * through an index in the list's order: a full page there is the page (every notification newer than the window's
 * oldest is in it), so a sender with many notifications, whose page its subscriptions' rows would give only once
 * all of them were read and sorted, has it at once; a sender with few recent ones has its rows read and sorted.
 */
export function notificationListQueries(
  f: NotificationFilter,
  cursorAt: string | undefined,
): { queries: ListQuery[]; limit: number } {
  const whole = notificationListQuery(f, cursorAt);
  const windowed = f.sender && !f.subscription
    ? notificationListQuery(f, cursorAt, SENDER_WINDOW)
    : undefined;
  return { queries: whole ? (windowed ? [windowed, whole] : [whole]) : [], limit: pageLimit(f) };
}

function pageLimit(f: NotificationFilter): number {
  return Math.max(1, Math.min(f.limit ?? 100, 1000));
}

/**
 * The list statement (both backends) for `f`, given the created_at of the cursor's row (`f.before`, read first
 * with `NOTIFICATION_SQL.cursorAt`); undefined when the cursor has no row at or below it (the page is empty). With
 * `window`, the sender is looked for among that many newest notifications of the other filters only.
 */
export function notificationListQuery(
  f: NotificationFilter,
  cursorAt: string | undefined,
  window?: number,
): ListQuery | undefined {
  const where: string[] = [];
  const params: Array<string | number> = [];
  const own: string[] = [];
  const ownParams: Array<string | number> = [];
  if (f.subscription) (where.push("s.code = ?"), params.push(f.subscription));
  if (f.sender) (where.push("s.sender_id = ?"), params.push(f.sender));
  if (f.status) (own.push("n.status = ?"), ownParams.push(f.status));
  if (f.since) (own.push("n.created_at >= ?"), ownParams.push(f.since));
  if (f.until) (own.push("n.created_at < ?"), ownParams.push(f.until));
  if (f.before !== undefined) {
    // A cursor with no row, never handed out, starts at the row below it (as afterCursor).
    if (cursorAt === undefined) return undefined;
    own.push("(n.created_at, n.id) < (?, ?)");
    ownParams.push(cursorAt, f.before);
  }
  const page = [pageLimit(f), Math.max(0, f.offset ?? 0)];
  const select = "SELECT n.*, s.code AS subscription_code, s.sender_id";
  const order = "ORDER BY n.created_at DESC, n.id DESC";
  if (window !== undefined) {
    const inner = `SELECT n.* FROM notifications n ${own.length ? "WHERE " + own.join(" AND ") : ""}
       ${order} LIMIT ?+0`;
    return {
      sql: `${select} FROM (${inner}) n JOIN subscriptions s ON s.id = n.subscription_id
       WHERE ${where.join(" AND ")} ${order} LIMIT ?+0 OFFSET ?+0`,
      params: [...ownParams, window, ...params, ...page],
    };
  }
  const all = [...where, ...own];
  return {
    sql: `${select} FROM notifications n
     JOIN subscriptions s ON s.id = n.subscription_id ${all.length ? "WHERE " + all.join(" AND ") : ""}
     ${order} LIMIT ?+0 OFFSET ?+0`,
    params: [...params, ...ownParams, ...page],
  };
}

/** Notification counts by status (for metrics and the CLI). */
export function notificationCounts(db: Db): Array<{ status: string; n: number }> {
  return stmt(db, SQL.counts).all() as Array<{ status: string; n: number }>;
}

/**
 * Deletes finished notifications (sent, failed, received) created and last changed before a cutoff, a chunk at a
 * time: (cutoff, cutoff, cutoff, chunk). Pending ones (held for a frequency, or waiting for a retry) are never
 * deleted; the (status, created_at) index bounds the scan to the finished ones. The status and last change are
 * checked again on the row deleted: on PostgreSQL a DELETE that waited for a row's lock re-checks only its own
 * WHERE on the row as committed, so an operator's retry or a reactivation reopening it meanwhile keeps it (as the
 * transactions' purge does). Both backends.
 */
export const PURGE_FINISHED = `DELETE FROM notifications
  WHERE status IN ('sent', 'failed', 'received') AND updated_at < ? AND id IN (SELECT id FROM notifications
    WHERE status IN ('sent', 'failed', 'received') AND created_at < ? AND updated_at < ? LIMIT ?+0)`;
