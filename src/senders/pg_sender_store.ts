/**
 * The senders in PostgreSQL: the statements of sender_store.ts, numbered, where both dialects agree; ordering and
 * case-insensitive matching written out (`COLLATE "C"` is SQLite's binary order whatever the database's
 * collation; lower() on both sides is NOCASE and SQLite's LIKE).
 */
import type { PgClient, PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, pgQuery, pgRun, pgText, pgTransaction } from "../db/pg/query.ts";
import type { SenderStanding } from "./pause.ts";
import { standingOf } from "./pause.ts";
import { pgCancelForDeletedSender } from "../subscriptions/pg_store.ts";
import {
  changedSince,
  columnNames,
  DELETE_RATE_DAY,
  DELETE_SENDER,
  duplicate,
  insertSenderSql,
  SELECT_ACTIVE,
  SELECT_SENDER,
  type SenderRow,
  type SenderStore,
  type SenderWork,
  updateSenderSql,
  WORK_COUNTS,
} from "./sender_store.ts";
import { KEY_SQL } from "./key_store.ts";

/** Serialises sender inserts across instances, so two ids differing by case cannot both pass the check. */
const INSERT_LOCK = "SELECT pg_advisory_xact_lock(7465726101)";
const OPEN = "('received','pending','processing','succeeded','rejected')";

/** The senders in the PostgreSQL database behind `pool`. */
export function pgSenderStore(pool: PgPool): SenderStore {
  const get = (db: PgPool | PgClient, id: string) => pgOne<SenderRow>(db, pgText(SELECT_SENDER), [id]);
  return {
    get: (id) => get(pool, id),
    list: () => pgAll<SenderRow>(pool, `SELECT * FROM senders ORDER BY sender_id COLLATE "C"`),
    page: (f) =>
      pgAll<SenderRow>(
        pool,
        `SELECT * FROM senders
         WHERE sender_id COLLATE "C" > $1
           AND ($2::text IS NULL OR lower(sender_id) LIKE lower($2) ESCAPE '\\' OR lower(name) LIKE lower($2) ESCAPE '\\')
           AND ($3::smallint IS NULL OR active = $3)
         ORDER BY sender_id COLLATE "C" LIMIT $4`,
        [f.after, f.pattern, f.active, f.limit],
      ),
    insert: (id, columns) =>
      pgTransaction(pool, async (c) => {
        await pgQuery(c, INSERT_LOCK);
        const clash = await pgOne<{ sender_id: string }>(
          c,
          "SELECT sender_id FROM senders WHERE lower(sender_id) = lower($1) LIMIT 1",
          [id],
        );
        if (clash) throw duplicate(id, clash.sender_id);
        const names = columnNames(columns);
        await pgRun(c, pgText(insertSenderSql(names)), [id, ...names.map((k) => columns[k])]);
        return (await get(c, id))!;
      }),
    update: (id, columns, ifUpdatedAt) =>
      pgTransaction(pool, async (c) => {
        const before = "jwks_url" in columns
          ? await pgOne<{ jwks_url: string | null }>(c, `${pgText(KEY_SQL.jwksUrl)} FOR UPDATE`, [id])
          : undefined;
        const names = columnNames(columns);
        const guard = ifUpdatedAt === undefined ? [] : [ifUpdatedAt];
        const row = await pgOne<SenderRow>(
          c,
          `${pgText(updateSenderSql(names, guard.length > 0))} RETURNING *`,
          [...names.map((k) => columns[k]), id, ...guard],
        );
        if (!row && ifUpdatedAt !== undefined && await get(c, id)) throw changedSince(id, ifUpdatedAt);
        if (!row || !before || before.jwks_url === columns.jwks_url) return row;
        // A URL changed or cleared: the keys fetched from the old one go with it (as on SQLite).
        await pgRun(c, pgText(KEY_SQL.dropJwks), [id]);
        return await pgOne<SenderRow>(c, pgText(KEY_SQL.urlChanged), [id]);
      }),
    delete: (id, reason, now) =>
      pgTransaction(pool, async (c) => {
        if (await pgRun(c, pgText(DELETE_SENDER), [id]) === 0) return undefined;
        await pgRun(c, pgText(DELETE_RATE_DAY), [id]);
        return await cancelWork(c, id, reason, now);
      }),
    async work(id) {
      const n = async (sql: string) => Number((await pgOne<{ n: number }>(pool, pgText(sql), [id]))!.n);
      return {
        subscriptions: await n(WORK_COUNTS.subscriptions),
        notifications: await n(WORK_COUNTS.notifications),
        transactions: await n(WORK_COUNTS.transactions),
      };
    },
    async standing(id): Promise<SenderStanding> {
      return standingOf((await pgOne<{ active: number }>(pool, pgText(SELECT_ACTIVE), [id]))?.active);
    },
    async openTransactionIds(id, limit) {
      const rows = await pgAll<{ id: number }>(
        pool,
        `SELECT id FROM transactions WHERE sender_id = $1 AND state IN ${OPEN} ORDER BY id LIMIT $2`,
        [id, limit],
      );
      return rows.map((r) => r.id);
    },
  };
}

/**
 * What deleting a sender cancels, on the deleting transaction's client: its subscriptions and their waiting
 * notifications (as the subscription store does), and its open transactions (cancelOpenTransactions on SQLite).
 */
async function cancelWork(c: PgClient, senderId: string, reason: string, now: string): Promise<SenderWork> {
  const { subscriptions, notifications } = await pgCancelForDeletedSender(c, { senderId }, reason, now);
  const transactions = await pgRun(
    c,
    `UPDATE transactions SET state = 'callback_failed', last_error = $1, next_attempt_at = NULL,
       lease_owner = NULL, lease_until = NULL, completed_at = $2, updated_at = $2
     WHERE sender_id = $3 AND state IN ${OPEN}`,
    [reason.slice(0, 999), now, senderId],
  );
  return { subscriptions, notifications, transactions };
}
