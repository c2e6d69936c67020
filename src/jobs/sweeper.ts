/**
 * The sweeper: SQLite is the record of truth, so at start and every `sweepIntervalSeconds` it redoes what the
 * tables say is due (work stuck past its lease, callbacks whose retry time has come), whatever KV did.
 */
import type { Deps } from "../deps.ts";

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
 * Redoes due transactions through `handle` (the worker's). At start-up, leases of the dead process are
 * released and every open transaction counts as due; later, only those untouched for `leaseSeconds`.
 */
export async function sweepTransactions(
  deps: Deps,
  handle: (id: number) => Promise<void>,
  options: { startup: boolean },
): Promise<number> {
  if (options.startup) await deps.storage.transactions.releaseLeases();
  const seen = new Set<number>();
  for (let i = 0; i < MAX_BATCHES; i++) {
    const now = deps.clock.now();
    const staleBefore = options.startup ? now : now - deps.config.leaseSeconds * 1000;
    const due = await deps.storage.transactions.due(
      new Date(now).toISOString(),
      new Date(staleBefore).toISOString(),
      BATCH,
    );
    const ids = due.filter((id) => !seen.has(id));
    if (ids.length === 0) break;
    for (const id of ids) seen.add(id);
    await Promise.all(ids.map((id) => handle(id)));
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
          deps.log.error("sweep failed", { err });
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
