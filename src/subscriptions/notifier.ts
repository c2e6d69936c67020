/**
 * The notifier: fan-out (registry events → notification log) and delivery lanes (one per subscription, in
 * order). SQLite is the record of truth: the worker process runs it at start, polls two cheap indexed queries
 * every `pollMs` (new events past the cursor, a due notification), and can be woken at once by `wake()` (a
 * registry change in this process, a queue message). Nothing is lost to a crash: the cursor and the log are
 * committed together, and a lane's lease is released at start.
 */
import type { Deps } from "../deps.ts";
import { fanOutAll, fanOutBatch, type FilterCache } from "./fanout.ts";
import { type LaneOptions, runLane } from "./delivery.ts";

/** The queue message kind that wakes the notifier (id is ignored). */
export const NOTIFY_KIND = "notify";

/** A running notifier. */
export interface Notifier {
  /** Runs a pass soon (coalesced with one already running). */
  wake(): void;
  /** Runs a pass now and waits for it and the lanes it started. */
  runNow(): Promise<void>;
  /** Lanes delivering right now. */
  busy(): number;
  stop(): Promise<void>;
}

/** Options: poll interval and jitter source (tests). */
export interface NotifierOptions extends LaneOptions {
  pollMs?: number;
}

/**
 * Wakes this process's notifier (call after a registry change commits): the one running on `deps` in this
 * isolate (`deps.notifierWake`), else the main isolate's over the process bus. Other processes' notifiers find the change by polling.
 */
export function wakeNotifier(deps: Deps): void {
  if (!deps.notifierWake.wake()) deps.queue.wake?.({ kind: NOTIFY_KIND, id: "0" });
}

/**
 * Releases the lane leases a previous run left: on SQLite every one (one worker process by design); on
 * PostgreSQL none, as other instances hold live ones (a dead instance's leases expire).
 */
export async function releaseLaneLeases(deps: Deps): Promise<void> {
  await deps.storage.lanes.releaseAll();
}

/** One full pass without a loop: fan out everything, then run every due lane to the end. For tests and CLI. */
export async function runNotifierOnce(
  deps: Deps,
  options: LaneOptions = {},
  cache?: FilterCache,
): Promise<number> {
  await fanOutAll(deps, cache);
  const lanes = await deps.storage.notifications.dueLanes(new Date(deps.clock.now()).toISOString());
  const sent = await Promise.all(lanes.map((id) => runLane(deps, id, options)));
  return sent.reduce((a, b) => a + b, 0);
}

/** Starts the notifier loop of the worker process. */
export function startNotifier(deps: Deps, options: NotifierOptions = {}): Notifier {
  const pollMs = options.pollMs ?? 200;
  const cache: FilterCache = new Map();
  const lanes = new Map<number, Promise<unknown>>();
  let pass: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  // On SQLite done here and now (the store runs it at the call); every pass waits for it. A failure only delays
  // the lanes a previous run left leased until their leases expire.
  const released = releaseLaneLeases(deps).catch((err) => {
    if (!deps.storage.closed) deps.log.error("lane leases left by a previous run not released", { err });
  });

  const onePass = async () => {
    await released;
    // Fan out batch by batch, yielding between batches so a large backlog never stalls request handling.
    while (!deps.storage.closed && !stopped && await fanOutBatch(deps, cache) > 0) {
      await new Promise((r) => setTimeout(r, 0));
    }
    if (deps.storage.closed) return;
    for (const id of await deps.storage.notifications.dueLanes(new Date(deps.clock.now()).toISOString())) {
      if (lanes.has(id) || stopped) continue;
      // A lane that finds more due work when it ends asks for another pass (ordering stays per lane).
      const lane = runLane(deps, id, options).catch((err) => {
        deps.log.error("notification lane failed", { err });
        return 0;
      }).then((sent) => {
        lanes.delete(id);
        if (sent > 0 && !stopped) wake();
      });
      lanes.set(id, lane);
    }
  };

  const run = (): Promise<void> => {
    if (pass) {
      again = true;
      return pass;
    }
    pass = (async () => {
      do {
        again = false;
        try {
          await onePass();
        } catch (err) {
          if (!deps.storage.closed) deps.log.error("notifier pass failed", { err });
        }
      } while (again && !stopped);
    })().finally(() => pass = undefined);
    return pass;
  };

  const wake = () => {
    if (!stopped) void run();
  };

  const tick = () => {
    if (stopped) return;
    run().finally(() => {
      if (!stopped) timer = setTimeout(tick, pollMs);
    });
  };
  tick();

  const notifier: Notifier = {
    wake,
    busy: () => lanes.size,
    runNow: async () => {
      await run();
      while (lanes.size > 0) await Promise.all([...lanes.values()]);
    },
    stop: async () => {
      stopped = true;
      clearTimeout(timer);
      deps.notifierWake.clear();
      // Give running lanes a moment; whatever they leave stays pending in SQLite for the next start.
      let t: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all([pass, ...lanes.values()]),
        new Promise((r) => t = setTimeout(r, 2000)),
      ]);
      clearTimeout(t);
    },
  };
  deps.notifierWake.register(notifier);
  return notifier;
}
