/**
 * Where bulk searches are kept (a file's progress beside its transaction row, and its answer pages): the interface
 * the runner and the operator views use, and its embedded SQLite implementation over bulk_store.ts. The file's row
 * is created with its transaction (TransactionStore.insert).
 */
import type { Db } from "../db/sqlite.ts";
import { groupCommit } from "../db/group_commit.ts";
import {
  type BulkEnd,
  type BulkProgress,
  bulkProgress,
  type BulkRow,
  failedBefore,
  finishBulk,
  firstPendingPage,
  getBulk,
  type NewPage,
  openBulkOf,
  type PageAttempt,
  pageMessage,
  type PageRow,
  recordPageAttempt,
  renewLease,
  reopenBulk,
  storePage,
} from "./bulk_store.ts";

/** The bulk searches. Every write of several rows is one transaction; each is conditional, so a resumed run never builds or counts a page twice. */
export interface BulkStore {
  /** The bulk search of transaction `txn`, if it is one. */
  get(txn: number): Promise<BulkRow | undefined>;
  /** Stores the next page and moves the resumption point past it; false when that page was built already. */
  storePage(p: NewPage): Promise<boolean>;
  /** The first page still to deliver, without its message. */
  firstPendingPage(txn: number): Promise<PageRow | undefined>;
  /** How many of the `count` pages right before `page` failed for good. */
  failedBefore(txn: number, page: number, count: number): Promise<number>;
  /** The stored message of a page, null once it was sent. */
  pageMessage(txn: number, page: number): Promise<string | null>;
  /** A page's delivery attempt ended: sent, failed for good, or to be retried. */
  recordPageAttempt(p: PageAttempt): Promise<void>;
  /** Extends the lease of a running bulk search; false when the lease was lost. */
  renewLease(id: number, owner: string, until: string, now: string): Promise<boolean>;
  /** Ends a bulk search (by the lease holder). */
  finish(id: number, owner: string, f: BulkEnd): Promise<boolean>;
  /** The progress operators see, when `txn` is a bulk search. */
  progress(txn: number): Promise<BulkProgress | undefined>;
  /** After an operator's retry: failed pages pending again, the transaction pending with a fresh count. */
  reopen(txn: number, now: string): Promise<boolean>;
  /** How many bulk searches of `senderId` are accepted and not ended (DCI_BULK_MAX_OPEN_PER_SENDER bounds it). */
  openOf(senderId: string): Promise<number>;
}

/**
 * The bulk searches in the embedded SQLite database. Its writes share the turn's group commit, as the worker's
 * other steps do: a write lock held elsewhere (a CLI import's batch) is waited for on timers, never by blocking
 * the worker isolate (whose connection would wait up to 5 s, its callbacks, timers and polls with it).
 */
export function sqliteBulkStore(db: Db): BulkStore {
  return {
    get: (txn) => Promise.try(() => getBulk(db, txn)),
    storePage: (p) => groupCommit(db, () => storePage(db, p)),
    firstPendingPage: (txn) => Promise.try(() => firstPendingPage(db, txn)),
    failedBefore: (txn, page, count) => Promise.try(() => failedBefore(db, txn, page, count)),
    pageMessage: (txn, page) => Promise.try(() => pageMessage(db, txn, page)),
    recordPageAttempt: (p) => groupCommit(db, () => recordPageAttempt(db, p)),
    renewLease: (id, owner, until, now) => groupCommit(db, () => renewLease(db, id, owner, until, now)),
    finish: (id, owner, f) => groupCommit(db, () => finishBulk(db, id, owner, f)),
    progress: (txn) => Promise.try(() => bulkProgress(db, txn)),
    reopen: (txn, now) => groupCommit(db, () => reopenBulk(db, txn, now)),
    openOf: (senderId) => Promise.try(() => openBulkOf(db, senderId)),
  };
}
