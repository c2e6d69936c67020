/**
 * The one query for due work, on either backend: the transactions the worker should run now and what the
 * notifier has to do (subscriptions whose next notification is due, registry events not yet fanned out), in one
 * statement. The worker's due-work poll (src/jobs/due_poll.ts) runs it on a timer, the start-up sweep at start;
 * a wake-up only makes work start sooner.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgText } from "../db/pg/query.ts";
import { DUE as DUE_TRANSACTIONS } from "../transactions/txn_sql.ts";
import { NOTIFICATION_SQL } from "../subscriptions/notifications.ts";
import { FANOUT_SQL } from "../subscriptions/fanout.ts";

/** What is due now. */
export interface DueWork {
  /** Transactions to run (at most the query's limit). */
  transactions: number[];
  /** Active subscriptions whose next notification is due (a disabled sender's wait). */
  lanes: number[];
  /** Registry events past the fan-out cursor: their notifications are not logged yet. */
  events: boolean;
}

/** The notifier's part of due work. */
export type NotifierWork = Pick<DueWork, "lanes" | "events">;

/** Due work on one backend. */
export interface DueWorkStore {
  /**
   * Transactions waiting (received/pending) since before `waitingBefore`, processing under a lapsed lease, and
   * callbacks due at `now` (a retry's time come, or one an operator reopened) held by no live lease, disabled
   * senders' left out, at most `limit`; the lanes due at `now`; whether events wait for the fan-out.
   */
  due(now: string, waitingBefore: string, limit: number): Promise<DueWork>;
}

/** (waitingBefore, now, now, now, limit, now). One row per due transaction and lane, and one when events wait. */
export const DUE_WORK = `SELECT 't' AS kind, id FROM (${DUE_TRANSACTIONS}) AS txn
  UNION ALL SELECT 'l' AS kind, sid AS id FROM (${NOTIFICATION_SQL.heads}) AS lane
  UNION ALL SELECT 'e' AS kind, 0 AS id WHERE (${FANOUT_SQL.newest}) > (${FANOUT_SQL.lastEvent})`;

type Row = { kind: "t" | "l" | "e"; id: number | string };

function dueOf(rows: Row[]): DueWork {
  const due: DueWork = { transactions: [], lanes: [], events: false };
  for (const r of rows) {
    if (r.kind === "t") due.transactions.push(Number(r.id));
    else if (r.kind === "l") due.lanes.push(Number(r.id));
    else due.events = true;
  }
  return due;
}

/** Due work on the embedded SQLite database. */
export function sqliteDueWorkStore(db: Db): DueWorkStore {
  return {
    due: (now, waitingBefore, limit) =>
      Promise.try(() => dueOf(stmt(db, DUE_WORK).all(waitingBefore, now, now, now, limit, now) as Row[])),
  };
}

/** Due work on PostgreSQL. */
export function pgDueWorkStore(pool: PgPool): DueWorkStore {
  return {
    due: async (now, waitingBefore, limit) =>
      dueOf(await pgAll<Row>(pool, pgText(DUE_WORK), [waitingBefore, now, now, now, limit, now])),
  };
}
