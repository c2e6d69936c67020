/**
 * The one place where cron schedules, the queue listener, the sweeper, the due-work poll and the notifier start.
 * Runs only in the main isolate of the process chosen by DCI_WORKER, never in an HTTP isolate.
 */
import type { Deps } from "../deps.ts";
import { catchUpDue, runScheduled, type Schedule, schedulesFor } from "./schedules.ts";
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

/**
 * startBackground failed after some of its tasks had started: they are being stopped, and `stopped` settles
 * once they have (close the deps only then, or a sweep still running finds the database closed).
 */
export class BackgroundStartError extends Error {
  constructor(cause: unknown, readonly stopped: Promise<void>) {
    super(cause instanceof Error ? cause.message : String(cause), { cause });
  }
}

/**
 * Starts the cron schedules, the queue listener and the sweeper for this (the one worker) process. A schedule
 * Deno.cron refuses starts nothing; a part that fails later stops what had started (BackgroundStartError).
 */
export function startBackground(deps: Deps): Background {
  const abort = new AbortController();
  // The schedules first: one Deno.cron refuses (past DCI_BACKUP_CRON's validation) has started nothing else.
  for (const job of schedulesFor(deps.config)) {
    try {
      Deno.cron(
        job.name,
        job.schedule,
        { signal: abort.signal },
        async () => void await runScheduled(deps, job),
      );
    } catch (err) {
      abort.abort();
      throw new Error(`cron schedule ${job.name} "${job.schedule}" refused: ${(err as Error).message}`);
    }
  }
  // Each task's stop, in the order they started; stopped in reverse.
  const stops: Array<() => void | Promise<void>> = [];
  const stop = async () => {
    abort.abort();
    for (const s of stops.toReversed()) await s();
  };
  try {
    startTasks(deps, stops);
    catchUpSchedules(deps, stops);
  } catch (err) {
    const stopped = stop().catch((e) =>
      deps.log.error("stopping the background tasks after a failed start failed", { err: e })
    );
    throw new BackgroundStartError(err, stopped);
  }
  return { stop };
}

/** Starts the worker's tasks (queue listener, notifier, imports, sweeper, poll, history); their stops go to `stops`. */
function startTasks(deps: Deps, stops: Array<() => void | Promise<void>>): void {
  // A deployment's processors (src/extensions.ts) replace the stock async processing of their actions.
  const txnWorker = createWorker(deps, { processors: deps.extensions?.processors });
  const notifier = startNotifier(deps);
  stops.push(() => notifier.stop());
  // Registry imports uploaded through the admin API or the console; interrupted ones resume here at start.
  const imports = startImportRunner(deps);
  stops.push(() => imports.stop());
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
  stops.push(() => sweeper.stop());
  const duePoll = startDuePoll(deps, { ...txns, notify: (due) => notifier.notify(due) });
  stops.push(() => duePoll.stop());
  // The dashboard's per-minute history: every isolate's counters, read over the bus, one write a minute.
  const history = startHistorySampler(deps);
  stops.push(() => history.stop());
  // Stopped first (the list is stopped in reverse): it takes no more work while the rest stops, and the callbacks
  // and processing under way get a short grace before the outbound connections and the database close.
  stops.push(() => txnWorker.stop(WORKER_STOP_GRACE_MS));
}

/** How long a stopping worker waits for the steps under way (a callback to a slow receiver is cut after it). */
const WORKER_STOP_GRACE_MS = 2000;

/** How long after start the worker runs the daily jobs it missed (a start is not slowed, a crash loop not fed). */
const CATCH_UP_DELAY_MS = 30_000;

/** How often the worker looks again for daily jobs that missed their day (a fire that failed, one never made). */
const CATCH_UP_EVERY_MS = 3_600_000;

/**
 * Runs the `catchUp` schedules that missed their last day (catchUpDue): CATCH_UP_DELAY_MS after start, then every
 * CATCH_UP_EVERY_MS, so a daily fire that failed (a write lock held past its wait at 03:37, a database blip) runs
 * again within an hour of its day's slack ending (catchUpDue) instead of the next day. `options` replace the jobs
 * and the two delays (tests).
 */
export function catchUpSchedules(
  deps: Deps,
  stops: Array<() => void | Promise<void>>,
  options: { jobs?: readonly Schedule[]; firstMs?: number; everyMs?: number } = {},
): void {
  const { jobs = schedulesFor(deps.config), firstMs = CATCH_UP_DELAY_MS, everyMs = CATCH_UP_EVERY_MS } =
    options;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // Like a cron fire, a run under way is not waited for at stop (catchUpDue never throws).
  const check = async () => {
    for (const job of jobs) if (!stopped) await catchUpDue(deps, job);
    if (!stopped) timer = setTimeout(check, everyMs);
  };
  timer = setTimeout(check, firstMs);
  stops.push(() => {
    stopped = true;
    clearTimeout(timer);
  });
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
