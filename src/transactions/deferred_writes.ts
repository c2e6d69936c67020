/** Writes of claimed steps kept across a storage fault that passes, to be tried again under the same claim. */
import type { Deps } from "../deps.ts";
import { isTransientStorageFault } from "../db/faults.ts";

/**
 * The writes of claimed steps that met a storage fault that passes (the write lock held elsewhere past the wait, a
 * full disk, the database out of reach), one per transaction: a result, a release, a callback's outcome. Each is
 * tried again under its claim, before anything else, at the transaction's next handling (a wake-up after
 * DEFERRED_RETRY_MS, or the due-work poll). A claim left to lapse instead would be taken again, and that claim
 * would count an attempt the transaction never made. Kept in memory: a restart meanwhile counts it, as a crash does.
 */
export interface DeferredWrites {
  /** Runs `write` for transaction `id`; undefined when it met such a fault and was kept to be tried again. */
  run<T>(id: number, what: string, write: () => Promise<T>): Promise<T | undefined>;
  /** Tries the write kept for `id`, if any; false while it still meets the fault (`id` must wait). */
  settle(id: number): Promise<boolean>;
}

/** How soon a deferred write is tried again, in ms. */
const DEFERRED_RETRY_MS = 1_000;

/** The deferred writes of one worker; `wake` asks for a transaction's handling again after `delayMs`. */
export function deferredWrites(
  deps: Deps,
  wake: (id: number, delayMs: number) => Promise<void>,
): DeferredWrites {
  const kept = new Map<number, { what: string; write: () => Promise<unknown>; wakeAt: number }>();
  // One wake-up at a time per transaction: a try that the due-work poll started asks for none of its own.
  const again = (id: number, k: { wakeAt: number }) => {
    const now = deps.clock.now();
    if (k.wakeAt - now > DEFERRED_RETRY_MS / 2) return;
    k.wakeAt = now + DEFERRED_RETRY_MS;
    wake(id, DEFERRED_RETRY_MS).catch((err) =>
      deps.log.warn("wake-up not queued; the due-work poll tries the write again", { id, err })
    );
  };
  const passes = (err: unknown) => isTransientStorageFault(err) && !deps.storage.closed;
  return {
    async run(id, what, write) {
      try {
        return await write();
      } catch (err) {
        if (!passes(err)) throw err;
        const k = { what, write, wakeAt: 0 };
        kept.set(id, k);
        deps.log.warn(`${what} met a storage fault; tried again soon under its claim`, { id, err });
        again(id, k);
        return undefined;
      }
    },
    async settle(id) {
      const k = kept.get(id);
      if (!k) return true;
      try {
        await k.write();
      } catch (err) {
        if (passes(err)) {
          again(id, k);
          return false;
        }
        // Its lease lapses, and the due-work poll redoes the step.
        deps.log.error(`${k.what} failed`, { id, err });
      }
      if (kept.get(id) === k) kept.delete(id);
      return true;
    },
  };
}
