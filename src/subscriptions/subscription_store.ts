/** Where subscriptions are kept: the interface the services use, and its embedded SQLite implementation. */
import { type Db, transaction } from "../db/sqlite.ts";
import { deleteInIdOrder } from "../db/purge.ts";
import {
  approveSubscription,
  cancelForDeletedSender,
  cancelOfRequest,
  dueForExpiry,
  endSubscription,
  expireIfDue,
  type FanOutSubscription,
  fanOutSubscriptions,
  getSubscription,
  getSubscriptionById,
  type InsertOutcome,
  insertSubscription,
  listSubscriptions,
  liveDuplicateCode,
  type NewSubscription,
  PURGE_ENDED_SUBSCRIPTIONS,
  reactivateSubscription,
  subscriptionByRequest,
  subscriptionCounts,
  type SubscriptionFilter,
  type SubscriptionRow,
} from "./store.ts";

/** The subscriptions table. State moves are conditional, so no subscription moves twice. */
export interface SubscriptionStore {
  /**
   * Inserts a subscription unless the same (correlation, reference) already made one (returned as is), its chosen
   * code is taken, the sender already holds a live one with the same criteria, or the sender is at `limit` live
   * ones. One transaction; exact with several writers.
   */
  insert(s: NewSubscription, limit: number): Promise<InsertOutcome>;
  /** The subscription a subscribe request's item made (its correlation and reference ids), if any. */
  byRequest(correlationId: string, referenceId: string): Promise<SubscriptionRow | undefined>;
  /** The code of the sender's live subscription with this dedupe key, if any. */
  liveDuplicateCode(senderId: string, dedupeKey: string): Promise<string | undefined>;
  /** One subscription by its public code. */
  get(code: string): Promise<SubscriptionRow | undefined>;
  /** One subscription by row id. */
  getById(id: number): Promise<SubscriptionRow | undefined>;
  /** Subscriptions, newest first. */
  list(filter?: SubscriptionFilter): Promise<SubscriptionRow[]>;
  /** pending → active (operator approval); events from now on are in scope. */
  approve(code: string, now: string): Promise<SubscriptionRow | undefined>;
  /** error → active, failure count reset, the undelivered notifications since the last delivered one re-sent. */
  reactivate(code: string, now: string): Promise<{ row: SubscriptionRow; resent: number } | undefined>;
  /**
   * Ends a live subscription (one write): none of its waiting notifications is sent from then on, and they are
   * failed after it, in chunks (src/subscriptions/expiry.ts `settleEnded`, and the minute's sweep).
   */
  end(
    id: number,
    to: "cancelled" | "expired",
    now: string,
    by?: string,
  ): Promise<SubscriptionRow | undefined>;
  /**
   * Cancels every live subscription the subscribe request `correlationId` made (its answer was finally a
   * failure, so its sender never learned their codes); their waiting notifications are failed by the sweep.
   * Returns how many.
   */
  cancelOfRequest(correlationId: string, now: string): Promise<number>;
  /**
   * Live subscriptions whose end time has passed (except an active one still holding notifications to send), and
   * those in error since before `errorSince`.
   */
  dueForExpiry(now: string, errorSince: string, limit?: number): Promise<number[]>;
  /** Expires subscription `id` if it is still due as dueForExpiry reads it (checked in the write); else undefined. */
  expireIfDue(
    id: number,
    now: string,
    endBefore: string,
    errorSince: string,
  ): Promise<SubscriptionRow | undefined>;
  /** The subscriptions fan-out considers: active ones and those in error, by id. */
  fanOut(): Promise<FanOutSubscription[]>;
  /** Subscription counts by state. */
  counts(): Promise<Array<{ state: string; n: number }>>;
  /**
   * Cancels for good every live subscription of a deleted sender (or the one `id`), in one transaction; the
   * notifications they had waiting are failed after it, in chunks, with `reason`. Returns how many of each.
   */
  cancelForDeletedSender(
    of: { senderId: string } | { id: number },
    reason: string,
    now: string,
  ): Promise<{ subscriptions: number; notifications: number }>;
  /** Deletes the ended subscriptions past retention (PURGE_ENDED_SUBSCRIPTIONS) in chunks, by id; how many. */
  purgeEnded(cutoff: string): Promise<number>;
}

/** Subscriptions in the embedded SQLite database. */
export function sqliteSubscriptionStore(db: Db): SubscriptionStore {
  return {
    insert: (s, limit) => Promise.try(() => insertSubscription(db, s, limit)),
    byRequest: (correlationId, referenceId) =>
      Promise.try(() => subscriptionByRequest(db, correlationId, referenceId)),
    liveDuplicateCode: (senderId, key) => Promise.try(() => liveDuplicateCode(db, senderId, key)),
    get: (code) => Promise.try(() => getSubscription(db, code)),
    getById: (id) => Promise.try(() => getSubscriptionById(db, id)),
    list: (filter) => Promise.try(() => listSubscriptions(db, filter)),
    approve: (code, now) => Promise.try(() => approveSubscription(db, code, now)),
    reactivate: (code, now) => Promise.try(() => reactivateSubscription(db, code, now)),
    end: (id, to, now, by) => Promise.try(() => endSubscription(db, id, to, now, by)),
    cancelOfRequest: (correlationId, now) => Promise.try(() => cancelOfRequest(db, correlationId, now)),
    dueForExpiry: (now, errorSince, limit) => Promise.try(() => dueForExpiry(db, now, errorSince, limit)),
    expireIfDue: (id, now, endBefore, errorSince) =>
      Promise.try(() => expireIfDue(db, id, now, endBefore, errorSince)),
    fanOut: () => Promise.try(() => fanOutSubscriptions(db)),
    counts: () => Promise.try(() => subscriptionCounts(db)),
    cancelForDeletedSender: (of, reason, now) =>
      Promise.try(() => transaction(db, () => cancelForDeletedSender(db, of, reason, now))),
    purgeEnded: (cutoff) => deleteInIdOrder(db, PURGE_ENDED_SUBSCRIPTIONS, [cutoff]),
  };
}
