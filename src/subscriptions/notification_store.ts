/** Where the notification log is kept: the interface the services use, and its embedded SQLite implementation. */
import { type Db, transaction } from "../db/sqlite.ts";
import { groupCommit } from "../db/group_commit.ts";
import { deleteInChunks } from "../db/purge.ts";
import { stmt } from "../db/statements.ts";
import {
  type AttemptFailure,
  dueLanes,
  getNotification,
  insertNotifications,
  listNotifications,
  markFailed,
  markReceived,
  markRetry,
  markSent,
  type NewNotification,
  notificationCounts,
  type NotificationFilter,
  type NotificationRow,
  type NotificationView,
  type PendingNotification,
  pendingOf,
  PURGE_FINISHED,
  type ReceiptOutcome,
  type ReceiptTarget,
  reopenFailed,
  reopenUndelivered,
} from "./notifications.ts";
import { type BatchLimits, batchOf, type BatchOutcome, markBatch, REOPEN_BATCH } from "./batches.ts";
import { ENDED_SQL } from "./store.ts";

/**
 * The notifications table: one row per (subscription, registry event), delivered per subscription in id order.
 * Every state move is conditional on the row still being in the state it leaves, so no row moves twice.
 */
export interface NotificationStore {
  /** Logs pending notifications in the order given (a repeat of a (subscription, event) is ignored); how many. */
  insert(rows: NewNotification[], now: string): Promise<number>;
  /**
   * A subscription's oldest pending notifications, at most `limit`, oldest first, each with its registry event
   * (none when the event is gone).
   */
  pending(subscriptionId: number, limit: number): Promise<PendingNotification[]>;
  /** Active subscriptions of enabled senders whose oldest pending notification is due at `now`, by id. */
  dueLanes(now: string): Promise<number[]>;
  /** pending → sent; false when the row was no longer pending. */
  markSent(id: number, now: string): Promise<boolean>;
  /** Counts a failed attempt and schedules the next one (the row stays pending). */
  markRetry(id: number, f: AttemptFailure, nextAt: string, now: string): Promise<boolean>;
  /** pending → failed after the last attempt (or a permanent refusal). */
  markFailed(id: number, f: AttemptFailure, now: string): Promise<boolean>;
  /**
   * failed → pending, due now with a fresh attempt budget: one row by id (with the failed members of its sealed
   * batch, re-sent as it was sealed), or a subscription's; how many.
   */
  reopenFailed(of: { id: number } | { subscriptionId: number }, now: string): Promise<number>;
  /** failed → pending for a subscription's failures after its last delivered notification; how many. */
  reopenUndelivered(subscriptionId: number, now: string): Promise<number>;
  /** One notification by its public id, with its subscription's code and sender. */
  get(notificationId: string): Promise<NotificationView | undefined>;
  /**
   * Marks one of `senderId`'s notifications (and the rest of its batch) received, in one transaction;
   * idempotent (a repeat answers `already`).
   */
  markReceived(senderId: string, target: string | ReceiptTarget, now: string): Promise<ReceiptOutcome>;
  /** Notifications newest first by (created_at, id), with subscription code and sender (at most 1000). */
  list(filter?: NotificationFilter): Promise<NotificationView[]>;
  /** Notification counts by status. */
  counts(): Promise<Array<{ status: string; n: number }>>;
  /** Deletes finished notifications created and last changed before `cutoff` (ISO), in chunks; how many. */
  purgeFinished(cutoff: string): Promise<number>;
  /**
   * Fails the oldest `chunk` pending notifications of an ended subscription (with the reason it ended), in one
   * short transaction; how many (fewer than `chunk`: none is left). A live subscription's are left alone.
   */
  failEnded(subscriptionId: number, now: string, chunk: number): Promise<number>;
  /** Ended subscriptions still holding pending notifications, by id: after an id, or one sender's; at most `limit`. */
  endedHolding(of: { after: number } | { senderId: string }, limit: number): Promise<number[]>;
  /** The notifications to send with `head` (itself first), within `limits`, sealing the batch if it is new. */
  batchOf(head: NotificationRow, limits: BatchLimits): Promise<NotificationRow[]>;
  /**
   * Records one attempt's outcome on every row sent together, in one transaction; how many moved to sent. On
   * SQLite a sent mark joins the turn's group commit: lanes whose sends finish together share one transaction.
   */
  markBatch(rows: NotificationRow[], outcome: BatchOutcome, now: string): Promise<number>;
}

/** The notification log in the embedded SQLite database. */
export function sqliteNotificationStore(db: Db): NotificationStore {
  return {
    insert: (rows, now) => Promise.try(() => insertNotifications(db, rows, now)),
    pending: (id, limit) => Promise.try(() => pendingOf(db, id, limit)),
    dueLanes: (now) => Promise.try(() => dueLanes(db, now)),
    markSent: (id, now) => Promise.try(() => markSent(db, id, now)),
    markRetry: (id, f, nextAt, now) => Promise.try(() => markRetry(db, id, f, nextAt, now)),
    markFailed: (id, f, now) => Promise.try(() => markFailed(db, id, f, now)),
    reopenFailed: (of, now) =>
      Promise.try(() =>
        "id" in of ? Number(stmt(db, REOPEN_BATCH).run(now, now, of.id).changes) : reopenFailed(db, of, now)
      ),
    reopenUndelivered: (id, now) => Promise.try(() => reopenUndelivered(db, id, now)),
    get: (id) => Promise.try(() => getNotification(db, id)),
    markReceived: (senderId, target, now) => {
      // Its two writes (the row, its batch siblings) commit together; inside a caller's transaction, in it.
      const mark = () => markReceived(db, senderId, target, now);
      return Promise.try(() => db.isTransaction ? mark() : transaction(db, mark));
    },
    list: (filter) => Promise.try(() => listNotifications(db, filter)),
    counts: () => Promise.try(() => notificationCounts(db)),
    purgeFinished: (cutoff) => deleteInChunks(db, PURGE_FINISHED, [cutoff, cutoff, cutoff]),
    failEnded: (id, now, chunk) =>
      Promise.try(() => Number(stmt(db, ENDED_SQL.failChunk).run(now, id, chunk).changes)),
    endedHolding: (of, limit) =>
      Promise.try(() => {
        const rows = "after" in of
          ? stmt(db, ENDED_SQL.holding).all(of.after, limit)
          : stmt(db, ENDED_SQL.holdingOfSender).all(of.senderId, limit);
        return (rows as Array<{ id: number }>).map((r) => Number(r.id));
      }),
    batchOf: (head, limits) => Promise.try(() => batchOf(db, head, limits)),
    markBatch: (rows, outcome, now) =>
      outcome.kind === "sent"
        ? groupCommit(db, () => markBatch(db, rows, outcome, now))
        : Promise.try(() => markBatch(db, rows, outcome, now)),
  };
}
