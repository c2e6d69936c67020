/** The expiry schedule: live subscriptions past their end time become `expired`. */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";

/** Expires every live subscription whose end time has passed; returns how many. */
export async function expireSubscriptions(deps: Deps): Promise<number> {
  const store = deps.storage.subscriptions;
  let total = 0;
  for (let i = 0; i < 1000; i++) {
    const now = isoNow(deps.clock);
    const ids = await store.dueForExpiry(now);
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
