/** Every cron schedule: a name, a cron expression (UTC) and a plain async body tested directly. */
import type { Deps } from "../deps.ts";
import type { Config } from "../config.ts";
import { backupSchedules } from "./backup_schedule.ts";
import { AUTH_SCHEDULES } from "../senders/jobs.ts";
import { SUBSCRIPTION_SCHEDULES } from "../subscriptions/expiry.ts";
import { AUDIT_SCHEDULES } from "../audit/retention.ts";
import { RETENTION_SCHEDULES } from "../transactions/retention.ts";
import { KEEP_MS, slotOf } from "./job_runs.ts";
import { faultLevel } from "../db/faults.ts";

/** One scheduled job. */
export interface Schedule {
  name: string;
  schedule: string;
  run(deps: Deps): Promise<void>;
  /**
   * A daily job that must not be skipped (a retention purge): Deno.cron never makes up a fire missed while no
   * worker ran, so the worker runs it once after start when its last run is older than a day (catchUpDue).
   */
  catchUp?: true;
}

/** The schedules `startBackground` registers. Areas append their jobs here. */
export const SCHEDULES: readonly Schedule[] = [
  ...AUTH_SCHEDULES,
  ...SUBSCRIPTION_SCHEDULES,
  ...AUDIT_SCHEDULES,
  ...RETENTION_SCHEDULES,
];

/** Every schedule for `config`: the fixed ones, and those its settings turn on (scheduled backups). */
export function schedulesFor(config: Config): Schedule[] {
  return [...SCHEDULES, ...backupSchedules(config)];
}

/**
 * One fire of `job`: runs it when this instance claims the due time (src/jobs/job_runs.ts), so each job runs once
 * across instances; a failure is logged, never thrown (the next fire tries again), and gives the claim back, so
 * that it counts as no run (a daily job's catch-up, catchUpDue, runs it a day and an hour after its last run that
 * took place). Returns whether it ran. A database out of reach or busy is logged as a warning (a minute's job meets
 * it every minute of an outage).
 */
export async function runScheduled(deps: Deps, job: Schedule): Promise<boolean> {
  let claimed: string | undefined;
  try {
    const now = deps.clock.now();
    const slot = slotOf(now);
    const won = await deps.storage.jobRuns.claim(
      job.name,
      slot,
      new Date(now).toISOString(),
      slotOf(now - KEEP_MS),
    );
    if (!won) {
      deps.log.debug("scheduled job already run for this time by another instance", { job: job.name });
      return false;
    }
    claimed = slot;
    await job.run(deps);
    deps.log.debug("scheduled job ran", { job: job.name, slot });
    return true;
  } catch (err) {
    deps.log[faultLevel(err)]("scheduled job failed", { job: job.name, err });
    if (claimed) await releaseClaim(deps, job, claimed);
    return false;
  }
}

/** Pauses before each further try to give a failed run's claim back, when the first try failed (ms). */
const RELEASE_RETRY_MS = [5_000, 30_000, 120_000, 600_000];

/** Gives back the claim of `job`'s failed run at `slot`. Never throws. */
async function releaseClaim(deps: Deps, job: Schedule, slot: string): Promise<void> {
  const release = () => deps.storage.jobRuns.release(job.name, slot);
  if (await release().then(() => true, () => false)) return;
  // The fault that failed the run (a write lock held elsewhere, a database out of reach) often fails this too:
  // tried again in the background, on timers that keep no process alive.
  void (async () => {
    let last: unknown;
    for (const pause of RELEASE_RETRY_MS) {
      await new Promise((r) => Deno.unrefTimer(setTimeout(r, pause)));
      if (deps.storage.closed) return;
      try {
        return await release();
      } catch (err) {
        last = err;
      }
    }
    deps.log[faultLevel(last)]("a failed scheduled job's claim not given back: it counts as run", {
      job: job.name,
      slot,
      err: last,
    });
  })();
}

/** A catch-up job's last run may be this old before the worker runs it at start (a day and an hour of slack). */
const CATCH_UP_AFTER_MS = 25 * 3_600_000;

/**
 * Runs a `catchUp` job now when it has not run for over a day (never, only before a stop across its due time, or
 * its last fire failed); claimed like any fire, so one instance runs it. Returns whether it ran.
 */
export async function catchUpDue(deps: Deps, job: Schedule): Promise<boolean> {
  if (!job.catchUp) return false;
  try {
    const last = await deps.storage.jobRuns.lastRun(job.name);
    if (last !== undefined && Date.parse(last) > deps.clock.now() - CATCH_UP_AFTER_MS) return false;
  } catch (err) {
    deps.log.error("scheduled job's last run could not be read", { job: job.name, err });
    return false;
  }
  deps.log.info("scheduled job missed its last run: running it now", { job: job.name });
  return await runScheduled(deps, job);
}
