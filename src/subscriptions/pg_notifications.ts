/**
 * The notification log in PostgreSQL: the statements of src/subscriptions/notifications.ts and batches.ts,
 * numbered, and the batch insert written for this dialect (a JSON array bound as one jsonb parameter). Writes of
 * several rows are one transaction; a receipt locks the row it read before it decides.
 */
import type { PgClient, PgPool } from "../db/pg/pool.ts";
import {
  pgAll,
  pgDeleteInChunks,
  pgOne,
  type PgQueryable,
  pgRun,
  pgText,
  pgTransaction,
} from "../db/pg/query.ts";
import {
  type AttemptFailure,
  heldInOrder,
  insertArray,
  type NewNotification,
  NOTIFICATION_SQL as SQL,
  notificationListQueries,
  type NotificationRow,
  type NotificationView,
  pendingNotification,
  type PendingRow,
  PURGE_FINISHED,
  RECEIPT_SQL,
  receiptRefusal,
  receiptTarget,
  REOPEN_UNDELIVERED,
} from "./notifications.ts";
import {
  type BatchOutcome,
  type FirstRow,
  FIRSTS,
  MEMBERS,
  REOPEN_BATCH,
  SEAL,
  SEALED_MAX,
  SEALED_UNDER,
  sealParams,
  unsealed,
} from "./batches.ts";
import type { NotificationStore } from "./notification_store.ts";
import { ENDED_SQL } from "./store.ts";

// Ids follow the array's order (WITH ORDINALITY), as json_each's key order does on SQLite.
const INSERT_MANY = `INSERT INTO notifications (notification_id, subscription_id, event_id, event_type,
    record_type, record_count, message_id, status, next_attempt_at, created_at, updated_at)
  SELECT j.value ->> 0, (j.value ->> 1)::bigint, (j.value ->> 2)::bigint, j.value ->> 3, j.value ->> 4, 1,
    j.value ->> 5, 'pending', j.value ->> 6, $2, $3
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS j(value, ord) ORDER BY j.ord
  ON CONFLICT DO NOTHING`;

/** Logs pending notifications in the order given (a repeat is ignored) on `db`; how many (also fan-out's). */
export async function pgInsertNotifications(
  db: PgQueryable,
  rows: NewNotification[],
  now: string,
): Promise<number> {
  if (rows.length === 0) return 0;
  for (const p of heldInOrder(rows, now)) {
    const last = await pgOne<{ next_attempt_at: string }>(db, pgText(SQL.lastDue), [p.subscriptionId]);
    if (last && last.next_attempt_at > p.above) {
      await pgRun(db, pgText(SQL.pullForward), [p.dueAt, now, p.subscriptionId, p.above]);
    }
  }
  return await pgRun(db, INSERT_MANY, [insertArray(rows), now, now]);
}

/** The notification log in the PostgreSQL database behind `pool`. */
export function pgNotificationStore(pool: PgPool): NotificationStore {
  const run = (sql: string, values: Array<string | number | null>) => pgRun(pool, pgText(sql), values);
  return {
    insert: (rows, now) => pgInsertNotifications(pool, rows, now),
    pending: async (subscriptionId, limit) =>
      (await pgAll<PendingRow>(pool, pgText(SQL.pending), [subscriptionId, limit])).map(pendingNotification),
    dueLanes: async (now) => (await pgAll<{ sid: number }>(pool, pgText(SQL.heads), [now])).map((r) => r.sid),
    markSent: async (id, now) => await run(SQL.sent, [now, now, id]) > 0,
    markRetry: async (id, f, nextAt, now) =>
      await run(SQL.retry, [f.error, f.receiverCode ?? null, nextAt, now, id]) > 0,
    markFailed: async (id, f, now) => await run(SQL.failed, [f.error, f.receiverCode ?? null, now, id]) > 0,
    reopenFailed: (of, now) =>
      "id" in of
        ? run(REOPEN_BATCH, [now, now, of.id])
        : run(SQL.reopenBySubscription, [now, now, of.subscriptionId]),
    reopenUndelivered: (id, now) => run(REOPEN_UNDELIVERED, [now, now, id, id]),
    get: (notificationId) => pgOne<NotificationView>(pool, pgText(SQL.byNotificationId), [notificationId]),
    markReceived: (senderId, target, now) =>
      pgTransaction(pool, async (c) => {
        const t = receiptTarget(target);
        const found = t.notificationId === undefined
          ? await pgOne<NotificationView>(c, pgText(RECEIPT_SQL.byCode), [t.subscriptionCode])
          : await pgOne<NotificationView>(c, pgText(RECEIPT_SQL.byId), [t.notificationId, t.notificationId]);
        // Its notify's rows locked first, in id order, as a lane marks them: locking the named one and then its
        // siblings waited for another member's receipt (or the lane) locking them the other way round, a deadlock
        // PostgreSQL broke after a second. A concurrent receipt of the same notify waits, then finds it received.
        if (found) await pgRun(c, pgText(RECEIPT_SQL.lockNotify), [found.subscription_id, found.message_id]);
        const row = found && await pgOne<NotificationView>(c, pgText(RECEIPT_SQL.byRowId), [found.id]);
        const refused = receiptRefusal(row, senderId, t);
        if (refused || !row) return refused!;
        const updated = await pgOne<NotificationRow>(c, pgText(RECEIPT_SQL.mark), [now, now, now, row.id]);
        await pgRun(c, pgText(RECEIPT_SQL.siblings), [
          now,
          now,
          now,
          row.subscription_id,
          row.message_id,
          row.id,
        ]);
        return { ok: true, row: { ...row, ...(updated ?? {}) }, already: !updated };
      }),
    list: async (f = {}) => {
      const at = f.before === undefined
        ? undefined
        : await pgOne<{ created_at: string }>(pool, pgText(SQL.cursorAt), [f.before]);
      const { queries, limit } = notificationListQueries(f, at?.created_at);
      let rows: NotificationView[] = [];
      for (const q of queries) {
        rows = await pgAll<NotificationView>(pool, pgText(q.sql), q.params);
        if (rows.length === limit) break;
      }
      return rows;
    },
    counts: () => pgAll<{ status: string; n: number }>(pool, pgText(SQL.counts)),
    purgeFinished: (cutoff) => pgDeleteInChunks(pool, pgText(PURGE_FINISHED), [cutoff, cutoff, cutoff]),
    // The status checked again on a row's latest version: a lane's concurrent sent mark stays.
    failEnded: (id, now, chunk) => run(`${ENDED_SQL.failChunk} AND status = 'pending'`, [now, id, chunk]),
    endedHolding: async (of, limit) =>
      (await ("after" in of
        ? pgAll<{ id: number }>(pool, pgText(ENDED_SQL.holding), [of.after, limit])
        : pgAll<{ id: number }>(pool, pgText(ENDED_SQL.holdingOfSender), [of.senderId, limit])))
        .map((r) => Number(r.id)),
    batchOf: (head, limits) =>
      pgTransaction(pool, async (c) => {
        const members = () =>
          pgAll<NotificationRow>(c, pgText(MEMBERS), [head.subscription_id, head.message_id, SEALED_MAX]);
        let rows = await members();
        // A new batch, sealed in this transaction.
        if (unsealed(head, rows) && !await pgOne(c, pgText(SEALED_UNDER), [head.message_id])) {
          const firsts = await pgAll<FirstRow>(c, pgText(FIRSTS), [head.subscription_id, limits.max]);
          const params = sealParams(head, firsts, limits);
          if (params) {
            await pgRun(c, pgText(SEAL), params);
            head = { ...head, message_id: head.notification_id };
            rows = await members();
          }
        }
        return rows.length > 0 ? rows : [head];
      }),
    markBatch: async (rows, outcome, now) => {
      const changed = rows.length === 1
        ? Number(await markOne(pool, rows[0], outcome, now))
        : await pgTransaction(pool, async (c) => {
          let n = 0;
          for (const r of rows) if (await markOne(c, r, outcome, now)) n++;
          return n;
        });
      return outcome.kind === "sent" ? changed : 0;
    },
  };
}

/** Applies an attempt's outcome to one row; true when the row was still pending. */
async function markOne(
  c: PgPool | PgClient,
  row: NotificationRow,
  outcome: BatchOutcome,
  now: string,
): Promise<boolean> {
  const f: AttemptFailure | undefined = outcome.kind === "sent" ? undefined : outcome.failure;
  const n = outcome.kind === "sent"
    ? await pgRun(c, pgText(SQL.sent), [now, now, row.id])
    : outcome.kind === "retry"
    ? await pgRun(c, pgText(SQL.retry), [f!.error, f!.receiverCode ?? null, outcome.nextAt, now, row.id])
    : await pgRun(c, pgText(SQL.failed), [f!.error, f!.receiverCode ?? null, now, row.id]);
  return n > 0;
}
