/**
 * The transaction worker: claim → process → store the result → deliver the callback → retry or finish.
 * Every step is a conditional write, so running `handle(id)` twice (queue redelivery, sweeper) is harmless.
 */
import type { Deps } from "../deps.ts";
import type { Processor, ProcessResult } from "../dci/processor.ts";
import { deliverOnce } from "./callback.ts";
import { callbackDue, processRetryDelay, retryDelay, type TxnAction, type TxnState } from "./states.ts";
import { attemptProcessing, processingFailed } from "./attempt.ts";
import type { NewAttempt } from "./attempts.ts";
import { FairLimiter, Parking } from "./limiter.ts";
import { callbackHold, heldBySender } from "./holds.ts";
import { destinationOf, FairSlots } from "../net/fair_slots.ts";
import { countRejection } from "../net/deliver.ts";
import { type BulkLookup, createBulkRunner, keepLease } from "./bulk_runner.ts";
import { deferredWrites } from "./deferred_writes.ts";
import type { TxnRow, TxnWithResult } from "./store.ts";
import { canonicalMessage } from "../dci/envelope.ts";
import { faultLevel, isTransientStorageFault } from "../db/faults.ts";

/** The longest pause between two tries of a processor that met a storage fault (under one claim), in ms. */
const TRANSIENT_PAUSE_MAX_MS = 8000;

/** The queue message kind of transactions. */
export const TXN_KIND = "txn";

/** Most transactions kept parked (by id) at once; see Parking. */
const PARKED_MAX = 4096;
/** How long a transaction stays parked at most before it is looked at again. */
const PARK_MS = 60_000;

/** Runs transaction work in this process, within its own concurrency bounds. */
export interface TxnWorker {
  /** Does whatever is due for transaction `id`: processing, then the callback. Never throws. */
  handle(id: number): Promise<void>;
  /** Work running or waiting now (for tests and the bench). */
  busy(): number;
  /** Whether transaction `id` is parked: turned away from a full queue, which is full still. */
  parked(id: number): boolean;
  /** Transactions parked now (the due-work poll passes over them as over those it handles). */
  parkedCount(): number;
  /**
   * Takes no more work (a claim not yet made is not made: the next start's sweep finds it) and waits up to
   * `graceMs` for the steps under way, so that a clean stop cuts none of them that end in time.
   */
  stop(graceMs: number): Promise<void>;
}

/** Options: the processor of each action (src/actions/processors.ts binds them), jitter, concurrency bounds. */
export interface WorkerOptions {
  processors: Readonly<Record<TxnAction, Processor>>;
  /** Answers a page of a bulk search file (src/actions/worker.ts binds the registry's identifier lookup). */
  bulkLookup?: BulkLookup;
  random?: () => number;
  processConcurrency?: number;
  callbackConcurrency?: number;
  /**
   * Transactions that may wait for a slot per sender (processing) and per destination and sender (callbacks);
   * more are parked (default 256), so a receiver that never answers or a sender's backlog holds only so many.
   */
  waitingPerKey?: number;
}

/**
 * Creates the worker of this process. The processors come from the caller (the action table's binding): this area
 * runs them without knowing what they do.
 */
export function createTxnWorker(deps: Deps, options: WorkerOptions): TxnWorker {
  // Processing is fair by sender: a transaction holds its slot while it waits for its sender's turn in the search
  // pool (one search per sender at a time), so with a FIFO one sender's backlog took every slot. A sender alone
  // uses three quarters of them (the throughput of 8 slots hardly differs from 6), the rest wait for others.
  const processTotal = options.processConcurrency ?? 8;
  const processing = new FairLimiter(processTotal, Math.max(1, Math.ceil(processTotal * 3 / 4)));
  const waitingPerKey = options.waitingPerKey ?? 256;
  const parking = new Parking({ max: PARKED_MAX, ttlMs: PARK_MS, now: () => deps.clock.now() });
  // A callback waits here, before it is claimed, with the outbound pool's caps per destination and per sender:
  // a FIFO here would let one sender's callbacks to a silent receiver hold every worker slot while they wait
  // for their share of the pool, and the next sender's callback would queue behind them.
  const outbound = new FairSlots({
    total: options.callbackConcurrency ?? deps.config.outboundConcurrency,
    perDestination: deps.config.outboundPerDestination,
    perSender: deps.config.outboundPerSender,
  });
  const delay = retryDelay(deps.config.callbackRetryDelaysMs, options.random);
  const leaseMs = deps.config.leaseSeconds * 1000;
  const maxAttempts = deps.config.processAttempts;
  const budgetMs = deps.config.processTimeoutMs;
  const processors = options.processors;
  const iso = (ms: number) => new Date(ms).toISOString();
  const wake = (id: number, delayMs: number) =>
    deps.queue.enqueue({ kind: TXN_KIND, id: String(id) }, { delayMs });
  // A step's write that met a storage fault that passes waits here, under its claim, never counted again.
  const writes = deferredWrites(deps, wake);
  const bulk = options.bulkLookup
    ? createBulkRunner(deps, { lookup: options.bulkLookup, random: options.random, wake, writes })
    : undefined;
  // Bulk searches run long (a page after another, for hours at 1M lookups): three at a time, so they never hold
  // every processing slot, and at most two of one sender's, so another sender's file never waits for those.
  const bulkSlots = new FairLimiter(3, 2);
  const store = deps.storage.transactions;

  /** Set by stop(): no claim is made from then on. */
  let stopping = false;
  /** handle() calls under way, and stop()'s wait for them to end. */
  let active = 0;
  let drained: (() => void) | undefined;

  /** Processes transaction `id` under a claim; true when this call stored its result (the callback is due). */
  async function process(id: number): Promise<boolean> {
    // Processing is synchronous SQLite work chained by already-resolved promises: without a real yield a
    // backlog runs in one turn of the event loop, starving callback sockets and timers for seconds (callbacks
    // then time out with their answer already waiting). One macrotask yield per transaction lets I/O through.
    await new Promise((resolve) => setTimeout(resolve, 0));
    if (stopping) return false;
    const owner = crypto.randomUUID();
    const now = deps.clock.now();
    // The claim counts the attempt in storage before the processor runs: an attempt that kills or wedges the
    // process counts too, so a poisoned transaction is failed after `processAttempts` starts, even across restarts.
    const row = await store.claimProcessing(id, owner, iso(now), iso(now + leaseMs));
    if (!row) return false;
    // The budget or retries of a storage fault may outlast the lease: it is renewed until the result is stored.
    const lease = keepLease(deps, id, owner);
    try {
      return await processClaimed(row, owner, now);
    } finally {
      lease.stop();
    }
  }

  /** Runs the processor of the claimed `row` and stores its result, or schedules the next attempt. */
  async function processClaimed(row: TxnRow, owner: string, now: number): Promise<boolean> {
    const id = row.id;
    const started = performance.now();
    let result: ProcessResult;
    let processError: string | undefined;
    let processCause: unknown;
    if (row.process_attempts > maxAttempts) {
      // The last allowed attempt never recorded an outcome: the process died or failed while running it.
      processError = `interrupted: ${maxAttempts} attempts did not finish` +
        (row.process_error ? `; last error: ${row.process_error}` : "");
      result = processingFailed(row, `Processing did not finish in ${maxAttempts} attempts`, iso(now));
    } else {
      let attempt = await attemptProcessing(deps, row, { budgetMs, processors });
      // A storage fault that passes (the write lock held elsewhere, a full disk) is tried again under this claim
      // while its lease lasts: releasing the row would need the very write that failed.
      for (let pause = 250; !attempt.ok && attempt.transient; pause *= 2) {
        if (pause > TRANSIENT_PAUSE_MAX_MS || deps.clock.now() + 2 * pause > now + leaseMs) break;
        await new Promise((resolve) => setTimeout(resolve, pause));
        attempt = await attemptProcessing(deps, row, { budgetMs, processors });
      }
      if (attempt.ok) result = attempt.result;
      // A write lock held elsewhere or a full disk is our fault, not the transaction's: retried, never counted.
      else if (attempt.transient) {
        await retryLater(row, owner, attempt.error, { uncount: true, cause: attempt.cause });
        return false;
      } else if (row.process_attempts < maxAttempts) {
        await retryLater(row, owner, attempt.error, { cause: attempt.cause });
        return false;
      } else {
        processError = `attempt ${row.process_attempts} of ${maxAttempts}: ${attempt.error}`;
        processCause = attempt.cause;
        result = processingFailed(
          row,
          attempt.overBudget
            ? `Processing exceeded its time budget of ${budgetMs} ms in ${maxAttempts} attempts`
            : `Processing failed in ${maxAttempts} attempts`,
          iso(deps.clock.now()),
        );
      }
    }
    if (processError) {
      countFailure(row, "failed");
      deps.log.error("transaction processing failed", {
        ...logFields(row),
        error: processError,
        err: processCause,
      });
      // A subscribe answered failed whole: an attempt may have made subscriptions before it failed, which would
      // go on notifying codes the sender was never given. Cancelled before the answer is stored, so a crash
      // between the two redoes both.
      if (row.action === "subscribe") {
        const cancelled = await deps.storage.subscriptions.cancelOfRequest(
          row.correlation_id,
          iso(deps.clock.now()),
        );
        if (cancelled > 0) {
          deps.log.warn("subscriptions of a failed subscribe request cancelled", {
            ...logFields(row),
            cancelled,
          });
        }
      }
    }
    const processed = {
      outcome: result.status,
      reasonCode: result.reasonCode,
      reasonMessage: result.reasonMessage,
      totalCount: result.totalCount,
      completedCount: result.completedCount,
      result: canonicalMessage(result.message),
      // Only for a row stored before message ids were made at the ACK: the stored one wins (COMPLETE_PROCESSING).
      callbackMessageId: crypto.randomUUID(),
      processError,
    };
    // A result that meets a storage fault is kept and stored at the next handling, under this claim: the attempt
    // is neither redone nor counted again.
    const stored = await writes.run(
      id,
      "transaction result",
      () => store.completeProcessing(id, owner, processed, iso(deps.clock.now())),
    );
    if (stored === undefined) return false;
    deps.metrics.observe(
      "dci_txn_processing_seconds",
      "Time to process an async transaction (claim to stored result)",
      { action: row.action, status: result.status },
      (performance.now() - started) / 1000,
    );
    if (!stored) deps.log.warn("transaction result not stored: lease lost", logFields(row));
    return stored;
  }

  /** A failed attempt below the limit: record why, drop the lease, and come back after the retry delay. */
  async function retryLater(
    row: TxnRow,
    owner: string,
    error: string,
    options: { uncount?: boolean; cause?: unknown } = {},
  ): Promise<void> {
    const at = deps.clock.now();
    const wait = processRetryDelay(row.process_attempts);
    const message = `attempt ${row.process_attempts} of ${maxAttempts}${
      options.uncount ? " (not counted)" : ""
    }: ${error}`;
    const release = { error: message, retryAt: iso(at + wait), now: iso(at), uncount: options.uncount };
    // Often the fault that failed the attempt fails its release too: then it waits in the deferred writes (and the
    // due-work poll finds the transaction at its retry time).
    const released = await writes.run(
      row.id,
      "transaction release",
      () => store.releaseProcessing(row.id, owner, release),
    );
    if (!released) return;
    countFailure(row, "retry");
    deps.log.warn("transaction processing attempt failed; retry scheduled", {
      ...logFields(row),
      error: message,
      delay_ms: wait,
      err: options.cause,
    });
    await deps.queue.enqueue({ kind: TXN_KIND, id: String(row.id) }, { delayMs: wait }).catch((err) =>
      deps.log.warn("retry enqueue failed; the sweeper will retry", { ...logFields(row), err })
    );
  }

  function countFailure(row: TxnRow, outcome: "retry" | "failed"): void {
    deps.metrics.inc(
      "dci_txn_processing_failures_total",
      "Failed processing attempts by outcome (retry, failed)",
      { action: row.action, outcome },
    );
  }

  async function deliver(id: number): Promise<void> {
    if (stopping) return;
    const owner = crypto.randomUUID();
    const now = deps.clock.now();
    const row = await store.claimCallback(id, owner, iso(now), iso(now + leaseMs));
    if (!row) return;
    // A slow receiver (DCI_OUTBOUND_TIMEOUT_MS, after a wait for the outbound pool) may outlast the lease.
    const lease = keepLease(deps, id, owner);
    try {
      await deliverClaimed(row, owner, now);
    } finally {
      lease.stop();
    }
  }

  /** Sends the callback of the claimed `row` once and records the attempt with what it leads to. */
  async function deliverClaimed(row: TxnWithResult, owner: string, now: number): Promise<void> {
    const id = row.id;
    const started = performance.now();
    let outcome: Awaited<ReturnType<typeof deliverOnce>>;
    try {
      outcome = await deliverOnce(deps, row, { hold: () => callbackHold(deps, id, owner) });
    } catch (err) {
      if (!isTransientStorageFault(err)) throw err;
      // Its sender's read met a storage fault before anything was sent: the claim goes, the attempt uncounted.
      await writes.run(id, "callback release", () => store.releaseCallback(id, owner));
      deps.log.warn("callback not sent: a storage fault before sending; tried again, not counted", {
        ...logFields(row),
        err,
      });
      return;
    }
    if (!outcome.ok && outcome.held) {
      // Its sender was disabled or deleted after the claim (or that check met a storage fault): no attempt was
      // made, none is counted.
      await writes.run(id, "callback release", () => store.releaseCallback(id, owner));
      await heldBySender(deps, row);
      return;
    }
    const at = deps.clock.now();
    const ms = performance.now() - started;
    deps.metrics.observe("dci_txn_callback_seconds", "Callback delivery attempt latency", {
      action: row.action,
    }, ms / 1000);
    // An outcome that meets a storage fault is written at the next handling: left to lapse, the claim would be
    // taken again and the callback sent (and counted) once more.
    const write = <T>(step: () => Promise<T>) => writes.run(id, "callback outcome", step);
    // The attempt goes into the history in the same write as the state change it led to.
    const record = (result: NewAttempt["outcome"]): NewAttempt => ({
      started_at: iso(now),
      duration_ms: ms,
      url: outcome.url,
      outcome: result,
      http_status: outcome.status ?? null,
      // A delivered one has a code when the receiver answered that it already had it (DUPLICATE_CODE).
      receiver_code: outcome.receiverCode ?? null,
      error: outcome.ok ? null : outcome.error,
    });
    if (outcome.ok) {
      await write(() => store.markCallbackSent(id, owner, iso(at), record("sent")));
      countOutcome(row, "sent");
      return;
    }
    if (outcome.receiverCode) countRejection(deps, "callback", outcome.receiverCode);
    const wait = outcome.permanent ? null : delay(row.attempts);
    if (wait === null) {
      await write(() =>
        store.markCallbackFailed(id, owner, { failure: outcome, now: iso(at) }, record("failed"))
      );
      countOutcome(row, "failed");
      deps.log.warn("callback failed", { ...logFields(row), attempts: row.attempts, error: outcome.error });
      return;
    }
    const scheduled = await write(() =>
      store.scheduleRetry(
        id,
        owner,
        { failure: outcome, nextAt: iso(at + wait), now: iso(at) },
        record("retry"),
      )
    );
    if (scheduled) {
      countOutcome(row, "retry");
      deps.log.info("callback retry scheduled", {
        ...logFields(row),
        attempts: row.attempts,
        delay_ms: wait,
        error: outcome.error,
      });
      await deps.queue.enqueue({ kind: TXN_KIND, id: String(id) }, { delayMs: wait }).catch((err) =>
        deps.log.warn("retry enqueue failed; the sweeper will retry", { ...logFields(row), err })
      );
    }
  }

  function countOutcome(row: TxnRow, outcome: string): void {
    deps.metrics.inc("dci_txn_callbacks_total", "Callback attempts by outcome (sent, retry, failed)", {
      action: row.action,
      outcome,
    });
  }

  /**
   * What `handle` waits for, read from the row, which is not kept while the transaction waits for a slot;
   * undefined when nothing is left to do (gone, held for its sender, or a bulk run that took it).
   */
  async function stepOf(id: number): Promise<Step | undefined> {
    const row = await store.get(id);
    if (!row || await heldBySender(deps, row)) return undefined;
    // A bulk search (a file of lookups) has its own run: pages answered and delivered one by one.
    if (bulk && row.action === "search" && row.request_message.includes('"bulk_file"')) {
      if (await bulkSlots.run(row.sender_id, () => bulk.handle(row))) return undefined;
    }
    return { state: row.state, sender: row.sender_id, destination: destinationOf(row.callback_url) };
  }

  /** Parks `id` when the queue it would wait in is `full()`; true when it was turned away. */
  function turnedAway(id: number, full: () => boolean): boolean {
    if (!full()) return false;
    parking.park(id, full);
    return true;
  }

  return {
    busy: () => processing.active + processing.waiting + outbound.active + outbound.waiting,
    parked: (id) => parking.holds(id),
    parkedCount: () => parking.count(),
    async stop(graceMs) {
      stopping = true;
      if (active === 0) return;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((resolve) => drained = resolve),
        new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs)),
      ]);
      clearTimeout(timer);
    },
    async handle(id) {
      if (stopping) return;
      active++;
      try {
        // Turned away before and its queue still full: the row is not read again.
        if (parking.holds(id)) return;
        // A write of its last step that met a storage fault goes first; while the fault lasts, nothing else.
        if (!await writes.settle(id)) return;
        const step = await stepOf(id);
        if (!step) return;
        let due = callbackDue(step.state);
        if (step.state === "received" || step.state === "pending" || step.state === "processing") {
          if (turnedAway(id, () => processing.waitingFor(step.sender) >= waitingPerKey)) return;
          // A result this call stored leaves the callback due, to the sender and URL read above (processing
          // changes neither); otherwise another worker may have finished it meanwhile: read it again.
          due = await processing.run(step.sender, () => process(id)) ||
            callbackDue((await store.get(id))?.state);
        }
        if (due) {
          const key = { destination: step.destination, sender: step.sender };
          if (turnedAway(id, () => outbound.waitingFor(key) >= waitingPerKey)) return;
          await outbound.run(key, () => deliver(id));
        }
      } catch (err) {
        // A claim that failed counted nothing, and a step's write that met a storage fault waits in `writes`.
        // Otherwise the row keeps its state and lease; the due-work poll redoes it once the lease lapses.
        deps.log[faultLevel(err)]("transaction step failed", { id, err });
      } finally {
        if (--active === 0) drained?.();
      }
    },
  };
}

/** What a transaction's handling waits for: its state, its sender and its callback's destination. */
interface Step {
  state: TxnState;
  sender: string;
  destination: string;
}

function logFields(row: TxnRow): Record<string, unknown> {
  return { sender_id: row.sender_id, transaction_id: row.transaction_id, correlation_id: row.correlation_id };
}
