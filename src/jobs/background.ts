/**
 * The one place where cron schedules, the queue listener, the sweeper, the due-work poll and the notifier start.
 * Runs only in the main isolate of the process chosen by DCI_WORKER, never in an HTTP isolate.
 */
import type { Deps } from "../deps.ts";
import { runScheduled, schedulesFor } from "./schedules.ts";
import { startSweeper, sweepTransactions } from "./sweeper.ts";
import { TXN_KIND, type TxnWorker } from "../transactions/worker.ts";
import { createWorker } from "../actions/worker.ts";
import { NOTIFY_KIND, startNotifier } from "../subscriptions/notifier.ts";
import { type DueWorkers, startDuePoll } from "./due_poll.ts";
import { startHistorySampler } from "../obs/history.ts";
import { startImportRunner, sweepImportSpools } from "../registry/imports/runner.ts";
import { IMPORT_KIND } from "../registry/imports/service.ts";
import { sweepBulkSpool } from "../transactions/bulk_spool_sweep.ts";

/** Handle to stop what `startBackground` started. */
export interface Background {
  stop(): Promise<void>;
}

/** Starts the cron schedules, the queue listener and the sweeper for this (the one worker) process. */
export function startBackground(deps: Deps): Background {
  const abort = new AbortController();
  // A deployment's processors (src/extensions.ts) replace the stock async processing of their actions.
  const txnWorker = createWorker(deps, { processors: deps.extensions?.processors });
  const notifier = startNotifier(deps);
  // Registry imports uploaded through the admin API or the console; interrupted ones resume here at start.
  const imports = startImportRunner(deps);
  const txns = trackTransactions(txnWorker);
  const handleTxn = txns.handle;
  // Queue messages carry a kind and an id; each kind's handler is idempotent and never throws.
  const handlers: Record<string, (id: string) => Promise<void>> = {
    [TXN_KIND]: (id) => handleTxn(Number(id)),
    [NOTIFY_KIND]: () => Promise.resolve(notifier.wake()),
    [IMPORT_KIND]: () => Promise.resolve(imports.wake()),
  };
  deps.queue.listen(async (message) => {
    const handle = handlers[message.kind];
    if (handle) await handle(message.id);
    else deps.log.warn("queue message of unknown kind dropped", { kind: message.kind });
  });
  const sweeper = startSweeper(deps, [
    // At start-up only: every open transaction; later the due-work poll runs the same query (DUE_POLL_MS).
    (options) => options.startup ? sweepTransactions(deps, handleTxn, options) : Promise.resolve(0),
    // A lost import wake-up: the runner looks for queued jobs itself.
    () => Promise.resolve(imports.wake()).then(() => 0),
    // Bulk search spool files of no live transaction (counted apart: they are not work redone).
    () => sweepBulkSpool(deps).then(() => 0),
    // Import spools of no open job (an upload cut off by a crash on any instance).
    () => sweepImportSpools(deps).then(() => 0),
  ]);
  const duePoll = startDuePoll(deps, { ...txns, notify: (due) => notifier.notify(due) });
  // The dashboard's per-minute history: every isolate's counters, read over the bus, one write a minute.
  const history = startHistorySampler(deps);
  for (const job of schedulesFor(deps.config)) {
    Deno.cron(
      job.name,
      job.schedule,
      { signal: abort.signal },
      async () => void await runScheduled(deps, job),
    );
  }
  return {
    stop: async () => {
      abort.abort();
      duePoll.stop();
      history.stop();
      await sweeper.stop();
      await imports.stop();
      await notifier.stop();
    },
  };
}

/**
 * The worker's transactions as the due-work poll sees them: each handled through `handle` (by any route: queue,
 * sweep, poll) counts as held until its handling ends, and so does one the worker parked, so that the poll neither
 * piles on nor takes them again.
 */
export function trackTransactions(worker: TxnWorker): Omit<DueWorkers, "notify"> {
  const handling = new Map<number, number>();
  return {
    async handle(id) {
      handling.set(id, (handling.get(id) ?? 0) + 1);
      try {
        await worker.handle(id);
      } finally {
        const n = handling.get(id)! - 1;
        if (n > 0) handling.set(id, n);
        else handling.delete(id);
      }
    },
    busy: (id) => handling.has(id) || worker.parked(id),
    held: () => handling.size + worker.parkedCount(),
  };
}
