/**
 * The one place where cron schedules (and, later, the queue worker) start. Runs only in the process chosen
 * by DCI_WORKER, never once per isolate.
 */
import type { Deps } from "../deps.ts";
import { SCHEDULES } from "./schedules.ts";

/** Handle to stop what `startBackground` started. */
export interface Background {
  stop(): Promise<void>;
}

/** Starts the cron schedules (and queue listeners) for this process. */
export function startBackground(deps: Deps): Background {
  const abort = new AbortController();
  for (const job of SCHEDULES) {
    Deno.cron(job.name, job.schedule, { signal: abort.signal }, async () => {
      try {
        await job.run(deps);
      } catch (err) {
        deps.log.error("scheduled job failed", { job: job.name, err });
      }
    });
  }
  return {
    stop: () => {
      abort.abort();
      return Promise.resolve();
    },
  };
}
