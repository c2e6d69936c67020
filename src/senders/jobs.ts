/** The auth area's cron jobs: JWKS refresh, replay-guard and rate-bucket purge, midnight day-counter reset. */
import type { Schedule } from "../jobs/schedules.ts";
import { refreshDueJwks } from "./jwks_fetch.ts";

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
    run: async (deps) => {
      const now = deps.clock.now();
      await deps.storage.replay.purge(now - deps.config.replayWindowSeconds * 1000);
      await deps.storage.limits.purgeBuckets(now);
    },
  },
  {
    name: "rate-day-reset",
    // Counters of a past day already read as zero, so a missed run changes nothing but disk use.
    schedule: "0 0 * * *",
    run: async (deps) => void await deps.storage.limits.resetDay(deps.clock.now()),
  },
];
