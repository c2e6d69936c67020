/**
 * The one place where cron schedules, the queue listener and the sweeper start. Runs only in the process chosen
 * by DCI_WORKER, never once per isolate.
 */
import type { Deps } from "../deps.ts";
import { SCHEDULES } from "./schedules.ts";
import { startSweeper, sweepTransactions } from "./sweeper.ts";
import { createTxnWorker, TXN_KIND } from "../transactions/worker.ts";
import { NOTIFY_KIND, startNotifier } from "../subscriptions/notifier.ts";

/** Handle to stop what `startBackground` started. */
export interface Background {
  stop(): Promise<void>;
}

/** Starts the cron schedules, the queue listener and the sweeper for this (the one worker) process. */
export function startBackground(deps: Deps): Background {
  const abort = new AbortController();
  const txnWorker = createTxnWorker(deps);
  const notifier = startNotifier(deps);
  // Queue messages carry a kind and an id; each kind's handler is idempotent and never throws.
  const handlers: Record<string, (id: string) => Promise<void>> = {
    [TXN_KIND]: (id) => txnWorker.handle(Number(id)),
    [NOTIFY_KIND]: () => Promise.resolve(notifier.wake()),
  };
  deps.queue.listen(async (message) => {
    const handle = handlers[message.kind];
    if (handle) await handle(message.id);
    else deps.log.warn("queue message of unknown kind dropped", { kind: message.kind });
  });
  const sweeper = startSweeper(deps, [
    (options) => sweepTransactions(deps, txnWorker.handle, options),
  ]);
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
    stop: async () => {
      abort.abort();
      await sweeper.stop();
      await notifier.stop();
    },
  };
}
