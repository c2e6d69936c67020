/**
 * The arrival poll: transactions accepted by another process (a second server with DCI_WORKER=false, a CLI
 * command) wake this worker through KV, which another process's listener may not see for a long time. SQLite
 * is the record of truth, so the worker isolate looks every second for open rows that have waited more than
 * `ageMs` and that it is not already handling; far cheaper than waiting `leaseSeconds` for the sweeper.
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
      for (const id of waitingTransactions(deps, before, limit)) {
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
