/**
 * Subscriptions in PostgreSQL: the statements of src/subscriptions/store.ts, numbered, and the two written for this
 * dialect. Several instances insert at once here, so an insert takes a per-sender transaction lock first: the
 * duplicate check and the live-subscription limit then count exactly what committed before it.
 */
import type { PgPool } from "../db/pg/pool.ts";
import {
  pgAll,
  pgDeleteInIdOrder,
  pgOne,
  pgQuery,
  type PgQueryable,
  pgRun,
  pgText,
  pgTransaction,
} from "../db/pg/query.ts";
import { REOPEN_UNDELIVERED } from "./notifications.ts";
import {
  cancelDeletedQuery,
  DUE_FOR_EXPIRY,
  EXPIRE_IF_DUE,
  type FanOutSubscription,
  type InsertOutcome,
  insertValues,
  listQuery,
  PURGE_ENDED_SUBSCRIPTIONS,
  SUBSCRIPTION_SQL as SQL,
  type SubscriptionRow,
} from "./store.ts";
import type { SubscriptionStore } from "./subscription_store.ts";
import { lockEvents } from "../registry/pg_event_lock.ts";

/** Transaction lock namespace of subscription inserts (one lock per sender within it). */
const INSERT_LOCK = 0x64637375;

const LAST_EVENT_ID = "SELECT COALESCE(MAX(id), 0) AS id FROM registry_events";

/** Subscriptions in the PostgreSQL database behind `pool`. */
export function pgSubscriptionStore(pool: PgPool): SubscriptionStore {
  const row = (sql: string, values: Array<string | number | null>) =>
    pgOne<SubscriptionRow>(pool, pgText(sql), values);
  return {
    insert: (s, limit) =>
      pgTransaction(pool, async (c): Promise<InsertOutcome> => {
        await pgQuery(c, "SELECT pg_advisory_xact_lock($1, hashtext($2))", [INSERT_LOCK, s.sender_id]);
        const again = await pgOne<SubscriptionRow>(c, pgText(SQL.byRequest), [
          s.correlation_id,
          s.reference_id,
        ]);
        if (again) return { kind: "existing", row: again };
        // Locked until commit: a sender's deletion waits for this insert, then cancels what it made (or, deleted
        // first, the sender is not found here).
        if (!await pgOne(c, `${pgText(SQL.senderExists)} FOR SHARE`, [s.sender_id])) {
          return { kind: "no_sender" };
        }
        if (s.code !== undefined && await pgOne(c, pgText(SQL.codeTaken), [s.code])) {
          return { kind: "code_taken" };
        }
        if (await pgOne(c, pgText(SQL.liveDuplicate), [s.sender_id, s.dedupe_key])) {
          return { kind: "duplicate" };
        }
        const { n } = (await pgOne<{ n: number }>(c, pgText(SQL.liveCount), [s.sender_id]))!;
        if (n >= limit) return { kind: "limit" };
        // Under the event writers' lock until commit: no event commits between the newest id read here and the
        // subscription becoming visible, so fan-out (which reads the newest event, then the subscriptions) never
        // logs an event past from_event_id without it.
        await lockEvents(c);
        const { id } = (await pgOne<{ id: number }>(c, LAST_EVENT_ID))!;
        const created = await pgOne<SubscriptionRow>(c, pgText(SQL.insert), insertValues(s, id));
        return { kind: "created", row: created! };
      }).catch((err) => {
        // Codes are unique across senders, whose inserts do not share a lock: the other one committed first.
        if (
          s.code !== undefined && (err as { constraint?: string }).constraint === "subscriptions_code_key"
        ) {
          return { kind: "code_taken" } as const;
        }
        throw err;
      }),
    byRequest: (correlationId, referenceId) => row(SQL.byRequest, [correlationId, referenceId]),
    liveDuplicateCode: async (senderId, key) =>
      (await pgOne<{ code: string }>(pool, pgText(SQL.liveDuplicate), [senderId, key]))?.code,
    // PostgreSQL text holds no NUL, so no stored code has one (and the statement would fail on it): unknown.
    get: (code) => code.includes("\0") ? Promise.resolve(undefined) : row(SQL.byCode, [code]),
    getById: (id) => row(SQL.byId, [id]),
    list: (filter = {}) => {
      const q = listQuery(filter);
      return pgAll<SubscriptionRow>(pool, pgText(q.sql), q.params);
    },
    // Under the event writers' lock, as insert reads its from_event_id.
    approve: (code, now) =>
      pgTransaction(pool, async (c) => {
        await lockEvents(c);
        return await pgOne<SubscriptionRow>(c, pgText(SQL.approve), [now, now, code]);
      }),
    reactivate: (code, now) =>
      pgTransaction(pool, async (c) => {
        const updated = await pgOne<SubscriptionRow>(c, pgText(SQL.reactivate), [now, code]);
        if (!updated) return undefined;
        const resent = await pgRun(c, pgText(REOPEN_UNDELIVERED), [now, now, updated.id, updated.id]);
        return { row: updated, resent };
      }),
    // One statement: the waiting notifications are failed after it, in chunks (ENDED_SQL).
    end: (id, to, now, by) => row(SQL.end, [to, now, now, by ?? null, id]),
    cancelOfRequest: async (correlationId, now) =>
      (await pgAll(pool, pgText(SQL.cancelOfRequest), [now, now, correlationId])).length,
    dueForExpiry: async (now, errorSince, limit = 500) =>
      (await pgAll<{ id: number }>(pool, pgText(DUE_FOR_EXPIRY), [now, errorSince, limit])).map((r) => r.id),
    expireIfDue: (id, now, endBefore, errorSince) =>
      row(EXPIRE_IF_DUE, [now, now, id, endBefore, errorSince]),
    fanOut: () => pgAll<FanOutSubscription>(pool, pgText(SQL.fanOut)),
    counts: () => pgAll<{ state: string; n: number }>(pool, pgText(SQL.counts)),
    cancelForDeletedSender: (of, reason, now) =>
      pgTransaction(pool, (c) => pgCancelForDeletedSender(c, of, reason, now)),
    purgeEnded: (cutoff) => pgDeleteInIdOrder(pool, pgText(PURGE_ENDED_SUBSCRIPTIONS), [cutoff]),
  };
}

/**
 * Cancels a deleted sender's live subscriptions (or the one `id`) on `c`, the client of the caller's transaction
 * (the store's own, or a sender delete's), and counts the notifications they had waiting (failed after it, in
 * chunks: ENDED_SQL).
 */
export async function pgCancelForDeletedSender(
  c: PgQueryable,
  of: { senderId: string } | { id: number },
  reason: string,
  now: string,
): Promise<{ subscriptions: number; notifications: number }> {
  const [sql, value] = cancelDeletedQuery(of);
  const ids = (await pgAll<{ id: number }>(c, pgText(sql), [reason, now, now, value])).map((r) => r.id);
  const waiting = ids.length === 0 ? undefined : await pgOne<{ n: number }>(
    c,
    "SELECT COUNT(*) AS n FROM notifications WHERE subscription_id = ANY($1::bigint[]) AND status = 'pending'",
    [ids],
  );
  return { subscriptions: ids.length, notifications: Number(waiting?.n ?? 0) };
}
