/**
 * Batched notifications (a subscription with a cron frequency): the pending notifications due together are
 * sent as one `notify`. A batch is sealed before its first attempt by giving its members the head's
 * notification_id as their message_id (a row's own message_id is another id, so a sealed batch is known even
 * when it holds the head alone), so a retry (or a re-send after a crash) carries exactly the same events under
 * the same message_id, and notifications that fall due while it waits go in a later batch, after it. A batch
 * is the due rows from the head up to the first one not due (or past the count or bytes bound): none is sent
 * before an older one.
 */
import { type Db, transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { EVENT_SNAPSHOT } from "../registry/events.ts";
import {
  type AttemptFailure,
  markFailed,
  markRetry,
  markSent,
  type NotificationRow,
} from "./notifications.ts";

/**
 * The most members a sealed batch is read with: DCI_NOTIFY_BATCH_MAX's largest value (config.ts). A batch is
 * sent whole as it was sealed, even if the setting was lowered since (half of it under its message_id, then the
 * other half under the same one, would let a receipt of the first cover the second).
 */
export const SEALED_MAX = 1000;

/** A batch's members, the head first (both backends). */
export const MEMBERS =
  `SELECT * FROM notifications WHERE subscription_id = ? AND status = 'pending' AND message_id = ?
  ORDER BY id LIMIT ?+0`;
/** The oldest pending rows of a subscription with their records' stored sizes, for the seal (both backends). */
export const FIRSTS = `SELECT n.id, n.next_attempt_at,
    COALESCE((SELECT octet_length(${EVENT_SNAPSHOT}) FROM registry_events e WHERE e.id = n.event_id), 0) AS size
  FROM notifications n WHERE n.subscription_id = ? AND n.status = 'pending' ORDER BY n.id LIMIT ?+0`;
/** Seals a new batch: the pending rows from the head to the last one due take its id (both backends). */
export const SEAL = `UPDATE notifications SET message_id = ?
  WHERE subscription_id = ? AND status = 'pending' AND id >= ? AND id <= ?`;

/** A row of FIRSTS (ids and sizes as the driver gives them). */
export interface FirstRow {
  id: number | string;
  next_attempt_at: string;
  size: number | string;
}

/** What a new batch may hold: `max` events, and records of `maxBytes` as stored (the first one whatever its size). */
export interface BatchLimits {
  now: string;
  max: number;
  maxBytes: number;
}

/**
 * Whether `head` starts a batch not sealed yet: never attempted, alone under its message_id, and that message_id
 * not its own notification_id (which only a seal gives).
 */
export function unsealed(head: NotificationRow, members: NotificationRow[]): boolean {
  return head.attempts === 0 && members.length <= 1 && head.message_id !== head.notification_id;
}

/**
 * Whether a notification has this id: a lone head whose message_id names another row's (a member of a batch sealed
 * under that row, re-sent without it) belongs to a sealed batch, never to a new one (both backends).
 */
export const SEALED_UNDER = "SELECT 1 AS sealed FROM notifications WHERE notification_id = ?";

/**
 * An operator's re-send of one notification: failed → pending, due now, with a fresh attempt budget, together with
 * the failed members of its sealed batch, so the batch goes out again as it was sealed (same members, same
 * message_id). A notification sent alone has a message_id of its own, so it is reopened alone. (now, now, id) on
 * both backends.
 */
export const REOPEN_BATCH =
  `UPDATE notifications SET status = 'pending', attempts = 0, next_attempt_at = ?, updated_at = ?
  WHERE status = 'failed' AND (subscription_id, message_id) =
    (SELECT subscription_id, message_id FROM notifications WHERE id = ? AND status = 'failed')`;

/**
 * The SEAL parameters for the due rows in `firsts` (oldest first) up to the first one not due, or the last one
 * whose record still fits `maxBytes` (the first one whatever its size), if any.
 */
export function sealParams(
  head: NotificationRow,
  firsts: FirstRow[],
  limits: BatchLimits,
): Array<string | number> | undefined {
  let last: FirstRow | undefined;
  let bytes = 0;
  for (const r of firsts) {
    bytes += Number(r.size);
    if (r.next_attempt_at > limits.now || (last && bytes > limits.maxBytes)) break;
    last = r;
  }
  return last && [head.notification_id, head.subscription_id, head.id, last.id];
}

/** The notifications to send with `head` (itself first), within `limits`, sealing the batch if it is new. */
export function batchOf(db: Db, head: NotificationRow, limits: BatchLimits): NotificationRow[] {
  const members = () =>
    stmt(db, MEMBERS).all(head.subscription_id, head.message_id, SEALED_MAX) as unknown as NotificationRow[];
  let rows = members();
  // A new batch: sealed in one statement, so a crash leaves it either unsealed (sealed again on restart) or whole.
  if (unsealed(head, rows) && !stmt(db, SEALED_UNDER).get(head.message_id)) {
    const firsts = stmt(db, FIRSTS).all(head.subscription_id, limits.max) as unknown as FirstRow[];
    const params = sealParams(head, firsts, limits);
    if (params) {
      stmt(db, SEAL).run(...params);
      head = { ...head, message_id: head.notification_id };
      rows = members();
    }
  }
  return rows.length > 0 ? rows : [head];
}

/** The outcome of one attempt, applied to every member of a batch in one transaction. */
export type BatchOutcome =
  | { kind: "sent" }
  | { kind: "retry"; failure: AttemptFailure; nextAt: string }
  | { kind: "failed"; failure: AttemptFailure };

/** Records an attempt's outcome on every row sent together; returns how many rows moved to sent. */
export function markBatch(db: Db, rows: NotificationRow[], outcome: BatchOutcome, now: string): number {
  const mark = () => rows.filter((r) => markOne(db, r, outcome, now)).length;
  // Inside a transaction already (the lane's group commit): the rows are marked in it.
  const changed = rows.length === 1 || db.isTransaction ? mark() : transaction(db, mark);
  return outcome.kind === "sent" ? changed : 0;
}

/** Applies the outcome to one row; true when the row was still pending. */
function markOne(db: Db, row: NotificationRow, outcome: BatchOutcome, now: string): boolean {
  if (outcome.kind === "sent") return markSent(db, row.id, now);
  if (outcome.kind === "retry") return markRetry(db, row.id, outcome.failure, outcome.nextAt, now);
  return markFailed(db, row.id, outcome.failure, now);
}
