/**
 * The arrival poll: transactions accepted by another process (a second server with DCI_WORKER=false) and
 * callbacks an operator reopened from the CLI (`txn retry`) wake this worker through KV, which another
 * process's listener does not see for up to a minute (measured: a KV message enqueued by a second process on
 * the same file reached the listener 48-56 s later, when its idle poll came round; `kv.watch` saw nothing).
 * SQLite is the record of truth and every process shares it, so the worker isolate looks every second for
 * open rows and reopened callbacks that have waited more than `ageMs` and that it is not
 * already handling; far cheaper than waiting `sweepIntervalSeconds` for the sweeper.
 */
import type { Deps } from "../deps.ts";

/** Handle to stop the poll. */
export interface ArrivalPoll {
  /** Runs one poll now (unless one is running); resolves with the number of transactions it handed to the worker. */
  runNow(): Promise<number>;
  stop(): void;
}

/** Options: how often to look, how old a waiting row must be, and how many rows one look takes. */
export interface ArrivalOptions {
  intervalMs?: number;
  ageMs?: number;
  limit?: number;
}

/** Starts polling; `handle` is the worker's, `busy(id)` says whether this isolate already handles `id`. */
export function startArrivalPoll(
  deps: Deps,
  handle: (id: number) => Promise<void>,
  busy: (id: number) => boolean,
  options: ArrivalOptions = {},
): ArrivalPoll {
  const ageMs = options.ageMs ?? 1000;
  const limit = options.limit ?? 500;
  let running = false;
  const runNow = async (): Promise<number> => {
    if (deps.storage.closed || running) return 0;
    running = true;
    let started = 0;
    try {
      const before = new Date(deps.clock.now() - ageMs).toISOString();
      for (const id of await deps.storage.transactions.arrivals(before, limit)) {
        if (busy(id)) continue;
        started++;
        void handle(id);
      }
    } catch (err) {
      if (!deps.storage.closed) deps.log.error("arrival poll failed", { err });
    } finally {
      running = false;
    }
    return started;
  };
  const timer = setInterval(() => void runNow(), options.intervalMs ?? 1000);
  return { runNow, stop: () => clearInterval(timer) };
}
