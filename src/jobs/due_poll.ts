/**
 * The due-work poll: every DUE_POLL_MS the worker isolate runs the one query for due work (src/jobs/due_store.ts,
 * through src/jobs/sweeper.ts `dueWork`) and hands what it finds to whoever does it: transactions this isolate is
 * not already handling to the worker (accepted by another process, a second server with DCI_WORKER=false or an
 * instance on PostgreSQL whose wake-up went to another worker; callbacks an operator reopened; retries whose time
 * has come; leases that lapsed), due notification lanes and events not yet fanned out to the notifier. A wake-up
 * (the process bus, the KV queue, LISTEN/NOTIFY, a registry change in this isolate) only makes work start sooner;
 * what is due is what the tables say. (KV alone was not enough: a message enqueued by a second process on the
 * same file reached the listener 48-56 s later, when its idle poll came round.)
 */
import type { Deps } from "../deps.ts";
import type { NotifierWork } from "./due_store.ts";
import { dueWork } from "./sweeper.ts";
import { repeatedFailureLog } from "../obs/repeated_failure.ts";

/** How often the worker asks for due work: the latency of work whose wake-up went elsewhere or was lost. */
export const DUE_POLL_MS = 200;

/** Handle to stop the poll. */
export interface DuePoll {
  /** Runs one poll now (unless one is running); resolves with the number of transactions it handed to the worker. */
  runNow(): Promise<number>;
  stop(): void;
}

/** Who does the due work. */
export interface DueWorkers {
  /** Runs one transaction (the worker's handler). */
  handle(id: number): Promise<void>;
  /** Whether this isolate already handles transaction `id` (or has parked it). */
  busy(id: number): boolean;
  /**
   * How many transactions this isolate holds now (running, waiting for a slot, or parked), if known: the query
   * cannot leave them out, so a poll asks for that many rows more than it takes and passes over them. Asking for
   * fewer instead let one receiver that never answers, with `limit` callbacks waiting for it here, stop the poll
   * for everyone (LIMIT 0): lapsed leases, lost wake-ups and resumable bulk runs of every sender.
   */
  held?(): number;
  /** The notifier: delivers the due lanes, fans out the waiting events. */
  notify(due: NotifierWork): void;
}

/** Options: how often to look and how many transactions one look takes. */
export interface DuePollOptions {
  intervalMs?: number;
  limit?: number;
}

/** The most held transactions one poll passes over, in multiples of its limit (a bound on the query's rows). */
const SKIP_LIMITS = 8;

/** Starts polling for due work. */
export function startDuePoll(deps: Deps, workers: DueWorkers, options: DuePollOptions = {}): DuePoll {
  const limit = options.limit ?? 500;
  const failures = repeatedFailureLog(deps.log, "due-work poll");
  let running = false;
  const runNow = async (): Promise<number> => {
    if (deps.storage.closed || running) return 0;
    running = true;
    let started = 0;
    try {
      const skip = Math.min(workers.held?.() ?? 0, SKIP_LIMITS * limit);
      const due = await dueWork(deps, { startup: false, limit: limit + skip });
      for (const id of due.transactions) {
        if (started >= limit) break;
        if (workers.busy(id)) continue;
        started++;
        void workers.handle(id);
      }
      if (due.lanes.length > 0 || due.events) workers.notify(due);
      failures.succeeded();
    } catch (err) {
      if (!deps.storage.closed) failures.failed(err);
    } finally {
      running = false;
    }
    return started;
  };
  const timer = setInterval(() => void runNow(), options.intervalMs ?? DUE_POLL_MS);
  return { runNow, stop: () => clearInterval(timer) };
}
