/** The auth area's cron jobs: JWKS refresh, replay-guard and rate-bucket purge, midnight day-counter reset. */
import type { Schedule } from "../jobs/schedules.ts";
import { refreshDueJwks } from "./jwks_fetch.ts";
import { purgeReplay } from "../auth/replay.ts";
import { purgeRateBuckets, resetDayCounters } from "./rate_limit.ts";

/** Every auth schedule (UTC cron expressions). */
export const AUTH_SCHEDULES: readonly Schedule[] = [
  {
    name: "sender-jwks-refresh",
    // Runs every 5 minutes and fetches only senders whose last fetch is older than DCI_JWKS_REFRESH_MINUTES.
    schedule: "*/5 * * * *",
    run: async (deps) => void await refreshDueJwks(deps),
  },
  {
    name: "auth-purge",
    schedule: "* * * * *",
    run: (deps) => {
      purgeReplay(deps);
      purgeRateBuckets(deps.db, deps.clock.now());
      return Promise.resolve();
    },
  },
  {
    name: "rate-day-reset",
    // Counters of a past day already read as zero, so a missed run changes nothing but disk use.
    schedule: "0 0 * * *",
    run: (deps) => {
      resetDayCounters(deps.db, deps.clock.now());
      return Promise.resolve();
    },
  },
];
