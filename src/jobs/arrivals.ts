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
import { stmt } from "../db/statements.ts";
import { DISABLED_SENDERS } from "../senders/pause.ts";

/** Handle to stop the poll. */
export interface ArrivalPoll {
  /** Runs one poll now; resolves with the number of transactions it handed to the worker. */
  runNow(): number;
  stop(): void;
}

/** Options: how often to look, how old a waiting row must be, and how many rows one look takes. */
export interface ArrivalOptions {
  intervalMs?: number;
  ageMs?: number;
  limit?: number;
}

/**
 * Ids of transactions waiting (received/pending) since before `before` (ISO), oldest first; a disabled
 * sender's wait until it is enabled, without filling the poll's batch.
 */
export function waitingTransactions(deps: Deps, before: string, limit: number): number[] {
  const rows = stmt(
    deps.db,
    `SELECT id FROM transactions WHERE state IN ('received','pending') AND updated_at <= ?
       AND sender_id NOT IN ${DISABLED_SENDERS}
     ORDER BY updated_at LIMIT ?+0`,
  ).all(before, limit) as Array<{ id: number }>;
  return rows.map((r) => r.id);
}

/**
 * Ids of failed callbacks an operator reopened (`txn retry`: attempts back to 0, the last error kept) that are
 * due since before `before` (ISO) and held by no lease, oldest first. Only those: first deliveries and retries
 * stay with the worker's own wake-ups and the sweeper (taking them here too raced the worker's outbound queue
 * in tests/faults/callbacks_test.ts). Rows in succeeded/rejected are few; the transactions_open index holds them.
 */
export function dueCallbacks(deps: Deps, before: string, limit: number): number[] {
  const rows = stmt(
    deps.db,
    `SELECT id FROM transactions WHERE state IN ('succeeded','rejected') AND attempts = 0 AND last_error IS NOT NULL
       AND updated_at <= ?
       AND next_attempt_at <= ? AND (lease_until IS NULL OR lease_until <= ?)
       AND sender_id NOT IN ${DISABLED_SENDERS}
     ORDER BY updated_at LIMIT ?+0`,
  ).all(before, before, before, limit) as Array<{ id: number }>;
  return rows.map((r) => r.id);
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
  const runNow = (): number => {
    if (!deps.db.isOpen) return 0;
    let started = 0;
    try {
      const before = new Date(deps.clock.now() - ageMs).toISOString();
      for (const id of [...waitingTransactions(deps, before, limit), ...dueCallbacks(deps, before, limit)]) {
        if (busy(id)) continue;
        started++;
        void handle(id);
      }
    } catch (err) {
      if (deps.db.isOpen) deps.log.error("arrival poll failed", { err });
    }
    return started;
  };
  const timer = setInterval(runNow, options.intervalMs ?? 1000);
  return { runNow, stop: () => clearInterval(timer) };
}
