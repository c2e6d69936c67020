/** The expiry schedule: live subscriptions past their end time become `expired`. */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { dueForExpiry, endSubscription } from "./store.ts";

/** Expires every live subscription whose end time has passed; returns how many. */
export function expireSubscriptions(deps: Deps): Promise<number> {
  let total = 0;
  for (let i = 0; i < 1000; i++) {
    const now = isoNow(deps.clock);
    const ids = dueForExpiry(deps.db, now);
    if (ids.length === 0) break;
    for (const id of ids) if (endSubscription(deps.db, id, "expired", now)) total++;
  }
  if (total > 0) deps.log.info("subscriptions expired", { count: total });
  return Promise.resolve(total);
}

/** The cron entries of this area (SCHEDULES). */
export const SUBSCRIPTION_SCHEDULES = [
  {
    name: "subscriptions-expire",
    schedule: "* * * * *",
    run: async (deps: Deps) => void await expireSubscriptions(deps),
  },
];
