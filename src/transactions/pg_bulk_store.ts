/** The bulk searches in PostgreSQL: the statements of bulk_store.ts numbered, each write of several rows one transaction. */
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, type PgQueryable, pgRun, pgText, pgTransaction } from "../db/pg/query.ts";
import {
  type BulkRow,
  FAILED_BEFORE,
  FINISH_BULK,
  finishArgs,
  FIRST_PENDING_PAGE,
  GET_BULK,
  type GuardedWrite,
  OPEN_BULK_OF_SENDER,
  PAGE_MESSAGE,
  pageAttemptWrite,
  type PageRow,
  PAGES_LISTED,
  progressOf,
  RENEW_LEASE,
  reopenWrite,
  storePageWrite,
  UNDELIVERED_PAGES,
  type UndeliveredPage,
} from "./bulk_store.ts";
import type { BulkStore } from "./bulk_storage.ts";

/** The bulk searches in the PostgreSQL database behind `pool`. */
export function pgBulkStore(pool: PgPool): BulkStore {
  // The guard's conditional UPDATE holds its row until COMMIT: a second runner's guard waits, then finds it moved.
  const guarded = (w: GuardedWrite) =>
    pgTransaction(pool, async (c) => {
      if ((await pgRun(c, pgText(w.guard.sql), w.guard.args)) !== 1) return false;
      for (const s of w.then) await pgRun(c, pgText(s.sql), s.args);
      return true;
    });
  const get = (txn: number) => pgOne<BulkRow>(pool, pgText(GET_BULK), [txn]);
  return {
    get,
    storePage: (p) => guarded(storePageWrite(p)),
    firstPendingPage: (txn) => pgOne<PageRow>(pool, pgText(FIRST_PENDING_PAGE), [txn]),
    failedBefore: async (txn, page, count) =>
      Number((await pgOne<{ n: string }>(pool, pgText(FAILED_BEFORE), [txn, page - count, page]))?.n ?? 0),
    pageMessage: async (txn, page) =>
      (await pgOne<{ message: string | null }>(pool, pgText(PAGE_MESSAGE), [txn, page]))?.message ?? null,
    recordPageAttempt: async (p) => void await guarded(pageAttemptWrite(p)),
    renewLease: async (id, owner, until, now) =>
      (await pgRun(pool, pgText(RENEW_LEASE), [until, now, id, owner])) === 1,
    finish: async (id, owner, f) => (await pgRun(pool, pgText(FINISH_BULK), finishArgs(id, owner, f))) === 1,
    progress: async (txn) => {
      const b = await get(txn);
      return b &&
        progressOf(b, await pgAll<UndeliveredPage>(pool, pgText(UNDELIVERED_PAGES), [txn, PAGES_LISTED]));
    },
    reopen: (txn, now) => guarded(reopenWrite(txn, now)),
    openOf: (senderId) => pgOpenBulkOf(pool, senderId),
  };
}

/** The number of open bulk searches of `senderId` (OPEN_BULK_OF_SENDER), on a pool or an insert's client. */
export async function pgOpenBulkOf(db: PgQueryable, senderId: string): Promise<number> {
  return Number((await pgOne<{ n: string }>(db, pgText(OPEN_BULK_OF_SENDER), [senderId]))?.n ?? 0);
}
