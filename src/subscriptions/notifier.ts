/**
 * The notifier: fan-out (registry events → notification log) and delivery lanes (one per subscription, in
 * order). The database is the record of truth: the worker process runs a pass at start, is handed what the one
 * query for due work finds (`notify`: lanes due, events past the cursor; src/jobs/due_poll.ts), and can be woken
 * at once by `wake()` (a registry change in this process, a queue message). Nothing is lost to a crash: the
 * cursor and the log are committed together, and a lane's lease is released at start.
 */
import type { Deps } from "../deps.ts";
import { fanOutAll, fanOutBatch, type FilterCache } from "./fanout.ts";
import { type LaneOptions, runLane } from "./delivery.ts";
import type { NotifierWork } from "../jobs/due_store.ts";
import { destinationOf, FairSlots } from "../net/fair_slots.ts";
import { faultLevel } from "../db/faults.ts";
import { repeatedFailureLog } from "../obs/repeated_failure.ts";

/** How long one notifier pass fans out before it starts the due lanes; a backlog's rest waits for the next. */
export const FANOUT_SLICE_MS = 100;

/** The share of the time fan-out may take while lanes deliver (one batch, then a pause twice as long). */
export const FANOUT_SHARE = 1 / 3;

/** The queue message kind that wakes the notifier (id is ignored). */
export const NOTIFY_KIND = "notify";

/** A running notifier. */
export interface Notifier {
  /** Runs a pass soon (coalesced with one already running): fans out new events, runs every due lane. */
  wake(): void;
  /** Does the due work the due-work query found: fans out only when events wait, runs the lanes it named. */
  notify(due: NotifierWork): void;
  /** Runs a pass now and waits for it and the lanes it started. */
  runNow(): Promise<void>;
  /** Lanes delivering right now. */
  busy(): number;
  stop(): Promise<void>;
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
  const slots = laneSlots(deps);
  const sent = await Promise.all(lanes.map((id) => runCappedLane(deps, id, { slots, options })));
  return sent.reduce((a, b) => a + b, 0);
}

/**
 * The cap on lanes running at once: the outbound pool's caps (in total, per destination, per sender), as the
 * worker caps callbacks. A lane over it waits before its claim, holding neither lease nor rows; one under it
 * never waits for an outbound slot behind other lanes.
 */
function laneSlots(deps: Deps): FairSlots {
  return new FairSlots({
    total: deps.config.outboundConcurrency,
    perDestination: deps.config.outboundPerDestination,
    perSender: deps.config.outboundPerSender,
  });
}

/**
 * Runs the lane of subscription `id` to its end in turns, each holding a slot of `slots` for the subscription's
 * destination (its recorded notify URL, as a callback's is) and sender: after what it read ahead, a lane that
 * others wait for gives way and queues again, so a long backlog does not hold its destination's share. Resolves
 * with how many it sent, when `signal` aborts too.
 */
async function runCappedLane(
  deps: Deps,
  id: number,
  lane: { slots: FairSlots; options: LaneOptions; signal?: AbortSignal },
): Promise<number> {
  let sent = 0;
  for (;;) {
    if (deps.storage.closed) return sent;
    const sub = await deps.storage.subscriptions.getById(id);
    if (!sub || sub.state !== "active" || lane.signal?.aborted) return sent;
    const key = { destination: destinationOf(sub.callback_url), sender: sub.sender_id };
    const release = await lane.slots.acquire(key, lane.signal).catch(() => undefined);
    if (!release) return sent;
    let gaveWay = false;
    try {
      sent += await runLane(deps, id, {
        ...lane.options,
        giveWay: () => {
          gaveWay = lane.slots.waiting > 0;
          return gaveWay;
        },
      });
    } finally {
      release();
    }
    if (!gaveWay) return sent;
  }
}

/** Starts the notifier of the worker process (a first pass at once). */
export function startNotifier(deps: Deps, options: LaneOptions = {}): Notifier {
  const cache: FilterCache = new Map();
  // Lanes running or waiting for their turn (see runCappedLane); stop() ends the waits.
  const lanes = new Map<number, Promise<unknown>>();
  const slots = laneSlots(deps);
  const stopping = new AbortController();
  let pass: Promise<void> | undefined;
  const passFailures = repeatedFailureLog(deps.log, "notifier pass");
  let again = false;
  let stopped = false;
  // On SQLite done here and now (the store runs it at the call); every pass waits for it. A failure only delays
  // the lanes a previous run left leased until their leases expire.
  const released = releaseLaneLeases(deps).catch((err) => {
    if (!deps.storage.closed) deps.log.error("lane leases left by a previous run not released", { err });
  });

  /**
   * One pass; `due` (from the due-work query) spares the fan-out check and the lanes query when it can. True
   * when events still wait for fan-out: the pass ended its slice to start the lanes.
   */
  const onePass = async (due?: NotifierWork): Promise<boolean> => {
    await released;
    // Fan out batch by batch, yielding between batches so a large backlog never stalls request handling, and
    // for one slice only: the lanes start while a backlog is still being fanned out, instead of after all of it.
    // While lanes deliver, fan-out takes at most FANOUT_SHARE of the time (it pauses after each batch), so they
    // keep most of their speed; fan-out still logs rows faster than they deliver them, so no lane waits for work.
    let fanned = false, more = false;
    const until = performance.now() + FANOUT_SLICE_MS;
    for (;;) {
      if ((due && !due.events) || deps.storage.closed || stopped) break;
      const started = performance.now();
      if (await fanOutBatch(deps, cache) === 0) break;
      fanned = true;
      const took = performance.now() - started;
      await new Promise((r) => setTimeout(r, lanes.size > 0 ? took * (1 / FANOUT_SHARE - 1) : 0));
      if (performance.now() >= until) {
        more = true;
        break;
      }
    }
    if (deps.storage.closed) return false;
    const dueLanes = due && !fanned
      ? due.lanes
      : await deps.storage.notifications.dueLanes(new Date(deps.clock.now()).toISOString());
    for (const id of dueLanes) {
      if (lanes.has(id) || stopped) continue;
      // A lane that finds more due work when it ends asks for another pass (ordering stays per lane).
      const lane = runCappedLane(deps, id, { slots, options, signal: stopping.signal }).catch((err) => {
        deps.log[faultLevel(err)]("notification lane failed", { err });
        return 0;
      }).then((sent) => {
        lanes.delete(id);
        if (sent > 0 && !stopped) wake();
      });
      lanes.set(id, lane);
    }
    return more;
  };

  const run = (due?: NotifierWork): Promise<void> => {
    if (pass) {
      again = true; // the next pass looks for itself
      return pass;
    }
    pass = (async () => {
      do {
        again = false;
        try {
          const found = due;
          due = undefined;
          if (await onePass(found)) again = true;
          passFailures.succeeded();
        } catch (err) {
          if (!deps.storage.closed) passFailures.failed(err);
        }
      } while (again && !stopped);
    })().finally(() => pass = undefined);
    return pass;
  };

  const wake = () => {
    if (!stopped) void run();
  };

  wake();

  const notifier: Notifier = {
    wake,
    notify: (due) => {
      if (!stopped) void run(due);
    },
    busy: () => slots.active,
    runNow: async () => {
      await run();
      while (lanes.size > 0) await Promise.all([...lanes.values()]);
    },
    stop: async () => {
      stopped = true;
      stopping.abort();
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
