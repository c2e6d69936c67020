/** The expiry schedule: live subscriptions past their end time become `expired`. */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";

/**
 * How long before the oldest event not fanned out yet a subscription's end must lie for it to expire: an event
 * is stamped a moment before it is written (an import batch when it is prepared), so a later event id may carry
 * an earlier time; a minute covers that, and the expiry runs once a minute anyway.
 */
export const FANOUT_SLACK_MS = 60_000;

/**
 * Expires every live subscription whose end time has passed, once fan-out has logged the events of its window
 * (they would not be notified after it ends); returns how many.
 */
export async function expireSubscriptions(deps: Deps): Promise<number> {
  const store = deps.storage.subscriptions;
  let total = 0;
  for (let i = 0; i < 1000; i++) {
    const now = isoNow(deps.clock);
    const since = await deps.storage.fanOut.pendingSince();
    const fanned = since === undefined ? now : new Date(Date.parse(since) - FANOUT_SLACK_MS).toISOString();
    const ids = await store.dueForExpiry(fanned < now ? fanned : now);
    if (ids.length === 0) break;
    for (const id of ids) if (await store.end(id, "expired", now)) total++;
  }
  if (total > 0) deps.log.info("subscriptions expired", { count: total });
  return total;
}

/** The cron entries of this area (SCHEDULES). */
export const SUBSCRIPTION_SCHEDULES = [
  {
    name: "subscriptions-expire",
    schedule: "* * * * *",
    run: async (deps: Deps) => void await expireSubscriptions(deps),
  },
];
