/**
 * The expiry schedule: live subscriptions past their end time become `expired`. And what an ended subscription
 * leaves: its waiting notifications, failed ENDED_CHUNK rows a transaction after the end (one small write), never
 * in the end's own transaction: a subscription in error keeps logging rows, and failing 300,000 of them at once held
 * the write lock and the caller's isolate for 1.4 s.
 */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { ENDED_CHUNK } from "./store.ts";

/**
 * How long before the oldest event not fanned out yet (or before now, when fan-out has caught up) a
 * subscription's end must lie for it to expire: an event is stamped a moment before it is written (an import
 * batch when it is prepared), so an event of its window may still be committed after its end, and fan-out logs
 * events only for live subscriptions; a minute covers that, and the expiry runs once a minute anyway.
 */
export const FANOUT_SLACK_MS = 60_000;

/** Sorts before every stored time: with DCI_SUBSCRIPTION_ERROR_EXPIRY_DAYS=0 no error is old enough. */
const NEVER = "0000";

/**
 * Expires every live subscription whose end time has passed, once fan-out has logged the events of its window
 * (they would not be notified after it ends), and every one in error for longer than
 * DCI_SUBSCRIPTION_ERROR_EXPIRY_DAYS (fan-out logs an errored subscription's events for its reactivation: a
 * partner gone for good would grow the log with every registry change for ever); returns how many.
 */
export async function expireSubscriptions(deps: Deps): Promise<number> {
  const store = deps.storage.subscriptions;
  const days = deps.config.subscriptionErrorExpiryDays;
  let total = 0;
  for (let i = 0; i < 1000; i++) {
    const now = isoNow(deps.clock);
    const since = await deps.storage.fanOut.pendingSince();
    const fanned = new Date(Date.parse(since ?? now) - FANOUT_SLACK_MS).toISOString();
    const errorSince = days > 0 ? new Date(Date.parse(now) - days * 86_400_000).toISOString() : NEVER;
    const endBefore = fanned < now ? fanned : now;
    const ids = await store.dueForExpiry(endBefore, errorSince);
    if (ids.length === 0) break;
    const ended: number[] = [];
    for (const id of ids) {
      // Checked again in the write: a reactivation between the read and here keeps its subscription.
      const row = await store.expireIfDue(id, now, endBefore, errorSince);
      if (!row) continue;
      ended.push(id);
      if (!row.end_time || row.end_time > now) {
        deps.log.warn("subscription expired after its days in error (DCI_SUBSCRIPTION_ERROR_EXPIRY_DAYS)", {
          subscription: row.code,
          sender_id: row.sender_id,
          days,
          last_error: row.last_error,
        });
      }
    }
    total += ended.length;
    await failEndedNotifications(deps, ended);
  }
  if (total > 0) deps.log.info("subscriptions expired", { count: total });
  return total;
}

/**
 * Fails the waiting notifications of the ended subscriptions `ids`, ENDED_CHUNK rows a transaction, the event loop
 * turning between (as the retention purge deletes); how many. Stops quietly when the storage closes (the sweep
 * fails the rest).
 */
export async function failEndedNotifications(deps: Deps, ids: readonly number[]): Promise<number> {
  let total = 0;
  for (const id of ids) {
    for (;;) {
      if (deps.storage.closed) return total;
      const n = await deps.storage.notifications.failEnded(id, isoNow(deps.clock), ENDED_CHUNK);
      total += n;
      if (n < ENDED_CHUNK) break;
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
  }
  return total;
}

/**
 * After an operator's cancel or a sender's delete (subscription `ids`, or every ended one of `senderId`): fails
 * the first chunk of each one's waiting notifications before it returns, so a short backlog is failed when the
 * answer goes out, and the rest in the background, a chunk at a time (`rest`, never rejected: the callers do not
 * wait for it). What a stop leaves, the sweep fails.
 */
export async function settleEnded(
  deps: Deps,
  of: { ids: readonly number[] } | { senderId: string },
): Promise<{ failed: number; rest?: Promise<number> }> {
  const ids = "ids" in of ? of.ids : await deps.storage.notifications.endedHolding(of, SWEEP_PAGE);
  const more: number[] = [];
  let failed = 0;
  for (const id of ids) {
    const n = await deps.storage.notifications.failEnded(id, isoNow(deps.clock), ENDED_CHUNK);
    failed += n;
    if (n === ENDED_CHUNK) more.push(id);
  }
  if (more.length === 0) return { failed };
  const rest = failEndedNotifications(deps, more).catch((err) => {
    if (!deps.storage.closed) {
      deps.log.warn("waiting notifications of ended subscriptions left to the sweep", { err });
    }
    return 0;
  });
  return { failed, rest };
}

/** Ended subscriptions the sweep reads at once. */
const SWEEP_PAGE = 100;

/**
 * The sweep: fails whatever ended subscriptions still hold pending (a stop between chunks, an unsubscribe, a row
 * that fan-out logged as its subscription ended); how many rows.
 */
export async function sweepEndedNotifications(deps: Deps): Promise<number> {
  let total = 0;
  for (let after = 0;;) {
    const ids = await deps.storage.notifications.endedHolding({ after }, SWEEP_PAGE);
    if (ids.length === 0 || deps.storage.closed) break;
    total += await failEndedNotifications(deps, ids);
    after = ids[ids.length - 1];
  }
  if (total > 0) deps.log.info("waiting notifications of ended subscriptions failed", { count: total });
  return total;
}

/** The cron entries of this area (SCHEDULES). */
export const SUBSCRIPTION_SCHEDULES = [
  {
    name: "subscriptions-expire",
    schedule: "* * * * *",
    run: async (deps: Deps) => void await expireSubscriptions(deps),
  },
  {
    name: "subscriptions-ended-notifications",
    schedule: "* * * * *",
    run: async (deps: Deps) => void await sweepEndedNotifications(deps),
  },
];
