/**
 * Batched notifications (a subscription with a cron frequency): the pending notifications due together are
 * sent as one `notify`. A batch is sealed before its first attempt by giving its members the head's
 * message_id, so a retry (or a re-send after a crash) carries exactly the same events under the same
 * message_id, and notifications that fall due while it waits go in a later batch, after it.
 */
import { type Db, transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import {
  type AttemptFailure,
  markFailed,
  markRetry,
  markSent,
  type NotificationRow,
} from "./notifications.ts";

/** A batch's members, the head first (both backends). */
export const MEMBERS =
  `SELECT * FROM notifications WHERE subscription_id = ? AND status = 'pending' AND message_id = ?
  ORDER BY id LIMIT ?+0`;
/** Seals a new batch: the due pending rows take the head's message_id (both backends). */
export const SEAL = `UPDATE notifications SET message_id = ? WHERE id IN (SELECT id FROM notifications
  WHERE subscription_id = ? AND status = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?+0)`;

/** The notifications to send with `head` (itself first), at most `max`, sealing the batch if it is new. */
export function batchOf(
  db: Db,
  head: NotificationRow,
  options: { now: string; max: number },
): NotificationRow[] {
  const members = () =>
    stmt(db, MEMBERS).all(head.subscription_id, head.message_id, options.max) as unknown as NotificationRow[];
  let rows = members();
  // Alone under its message_id and never attempted: a new batch. The seal is one statement, so a crash leaves
  // the batch either unsealed (sealed again on restart) or whole.
  if (rows.length <= 1 && head.attempts === 0) {
    stmt(db, SEAL).run(head.message_id, head.subscription_id, options.now, options.max);
    rows = members();
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
