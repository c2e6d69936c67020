/**
 * The sweeper and the one query for due work. The tables are the record of truth, whatever a wake-up did: due work
 * is what `deps.storage.dueWork` says (waiting transactions, lapsed leases, callbacks whose time has come,
 * notification lanes due, events to fan out), asked the same way by the due-work poll (src/jobs/due_poll.ts) and
 * by the start-up sweep, which first drops a dead worker's leases (SQLite) and takes every waiting transaction. The
 * sweeper runs its other sweeps (spool files, import wake-ups) at start and every `sweepIntervalSeconds`.
 */
import type { Deps } from "../deps.ts";
import type { DueWork } from "./due_store.ts";
import { faultLevel } from "../db/faults.ts";

/** One sweep: finds due work and runs it; `startup` means no other worker can hold a lease. */
export type Sweep = (options: { startup: boolean }) => Promise<number>;

/** Handle to stop the periodic sweeper. */
export interface Sweeper {
  /** Runs every sweep now (unless one is running); resolves with the number of items redone. */
  runNow(startup?: boolean): Promise<number>;
  stop(): Promise<void>;
}

const BATCH = 500;
const MAX_BATCHES = 1000;

/**
 * How long a transaction waits (received/pending) before due work takes it: the request that accepted it wakes the
 * worker at once, so this only catches work whose wake-up went to another process or was lost.
 */
export const WAITING_AGE_MS = 1000;

/**
 * Due work now (at most `limit` transactions): at start-up every waiting transaction, else those waiting longer
 * than WAITING_AGE_MS.
 */
export function dueWork(deps: Deps, options: { startup: boolean; limit: number }): Promise<DueWork> {
  const now = deps.clock.now();
  return deps.storage.dueWork.due(
    new Date(now).toISOString(),
    new Date(options.startup ? now : now - WAITING_AGE_MS).toISOString(),
    options.limit,
  );
}

/**
 * How long the sweep waits for a batch it handed to the worker before it reads the next: a resumed bulk search
 * runs for hours and a callback may wait on a slow receiver, and the other sweeps (spool files, imports) wait for
 * this one. What is still running stays claimed, so the next batch does not take it again.
 */
const SWEEP_BATCH_WAIT_MS = 10_000;

/**
 * Redoes due transactions through `handle` (the worker's), batch by batch, waiting at most `batchWaitMs` for each;
 * at start-up the leases of the dead process are released first (SQLite: one worker per file).
 */
export async function sweepTransactions(
  deps: Deps,
  handle: (id: number) => Promise<void>,
  options: { startup: boolean; batchWaitMs?: number },
): Promise<number> {
  if (options.startup) await deps.storage.transactions.releaseLeases();
  const seen = new Set<number>();
  for (let i = 0; i < MAX_BATCHES; i++) {
    const due = await dueWork(deps, { startup: options.startup, limit: BATCH });
    const ids = due.transactions.filter((id) => !seen.has(id));
    if (ids.length === 0) break;
    for (const id of ids) seen.add(id);
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all(ids.map((id) => handle(id))),
      new Promise((r) => timer = setTimeout(r, options.batchWaitMs ?? SWEEP_BATCH_WAIT_MS)),
    ]);
    clearTimeout(timer);
  }
  if (seen.size > 0) {
    deps.log.info("sweeper redid transactions", { count: seen.size, startup: options.startup });
  }
  return seen.size;
}

/** Runs `sweeps` at once (start-up mode) and then every `config.sweepIntervalSeconds`. */
export function startSweeper(deps: Deps, sweeps: readonly Sweep[]): Sweeper {
  let running: Promise<number> | undefined;
  let stopped = false;
  const runNow = (startup = false): Promise<number> => {
    if (running || stopped) return running ?? Promise.resolve(0);
    running = (async () => {
      let total = 0;
      for (const sweep of sweeps) {
        try {
          total += await sweep({ startup });
        } catch (err) {
          deps.log[faultLevel(err)]("sweep failed", { err });
        }
      }
      return total;
    })().finally(() => running = undefined);
    return running;
  };
  runNow(true);
  const timer = setInterval(() => void runNow(false), deps.config.sweepIntervalSeconds * 1000);
  return {
    runNow,
    async stop() {
      stopped = true;
      clearInterval(timer);
      // Give a running sweep a moment; what it leaves undone stays due in SQLite for the next start.
      let grace: ReturnType<typeof setTimeout> | undefined;
      if (running) await Promise.race([running, new Promise((r) => grace = setTimeout(r, 2000))]);
      clearTimeout(grace);
    },
  };
}
