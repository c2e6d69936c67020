/**
 * The due-work poll: every second the worker isolate runs the one query for due work (src/jobs/sweeper.ts
 * `dueTransactionIds`) and hands what it finds, and is not already handling, to the worker: transactions accepted
 * by another process (a second server with DCI_WORKER=false, an instance on PostgreSQL whose wake-up went to
 * another worker), callbacks an operator reopened (`txn retry`), retries whose time has come and leases that lapsed.
 * A wake-up (the KV queue, the process bus, LISTEN/NOTIFY) only makes work start sooner; what is due is what the
 * tables say. (KV alone was not enough: a message enqueued by a second process on the same file reached the
 * listener 48-56 s later, when its idle poll came round.)
 */
import type { Deps } from "../deps.ts";
import { dueTransactionIds } from "./sweeper.ts";

/** Handle to stop the poll. */
export interface DuePoll {
  /** Runs one poll now (unless one is running); resolves with the number of transactions it handed to the worker. */
  runNow(): Promise<number>;
  stop(): void;
}

/** Options: how often to look and how many rows one look takes. */
export interface DuePollOptions {
  intervalMs?: number;
  limit?: number;
}

/** Starts polling; `handle` is the worker's, `busy(id)` says whether this isolate already handles `id`. */
export function startDuePoll(
  deps: Deps,
  handle: (id: number) => Promise<void>,
  busy: (id: number) => boolean,
  options: DuePollOptions = {},
): DuePoll {
  const limit = options.limit ?? 500;
  let running = false;
  const runNow = async (): Promise<number> => {
    if (deps.storage.closed || running) return 0;
    running = true;
    let started = 0;
    try {
      for (const id of await dueTransactionIds(deps, { startup: false, limit })) {
        if (busy(id)) continue;
        started++;
        void handle(id);
      }
    } catch (err) {
      if (!deps.storage.closed) deps.log.error("due-work poll failed", { err });
    } finally {
      running = false;
    }
    return started;
  };
  const timer = setInterval(() => void runNow(), options.intervalMs ?? 1000);
  return { runNow, stop: () => clearInterval(timer) };
}
