/**
 * The job queue: wakes the worker and delays retries. Messages carry ids only; the state they point at lives
 * in SQLite, and a sweeper redoes what SQLite says is due, so a lost or duplicated message costs nothing.
 */
import type { Clock } from "../clock.ts";
import type { ProcessBus } from "./bus.ts";

/** A queue message: what kind of work and the id of its SQLite row. Nothing else. */
export interface QueueMessage {
  kind: string;
  id: string;
}

/** Handles one message; must be idempotent (delivery is at least once). */
export type QueueHandler = (message: QueueMessage) => Promise<void>;

/** The queue adapter interface. */
export interface JobQueue {
  /** Enqueues `message`, delivered after `delayMs` (0 = now). */
  enqueue(message: QueueMessage, options?: { delayMs?: number }): Promise<void>;
  /** Starts delivering messages to `handler`; call once per process (the worker). */
  listen(handler: QueueHandler): void;
  /**
   * Wakes this process's worker at once (in this isolate or, over the process bus, in another), never through
   * KV; false when this process runs no worker. For wake-ups whose work SQLite polling finds anyway.
   */
  wake?(message: QueueMessage): boolean;
}

/** Where the worker of this process is, as far as a queue adapter is concerned. */
export interface KvQueueOptions {
  /** The process bus to the other isolates of this server. */
  bus?: ProcessBus;
  /** True when another isolate on `bus` runs the worker (this one is an HTTP isolate). */
  workerOnBus?: boolean;
}

/** Deno's KV message limit for delays is 30 days; longer delays are clamped (the sweeper covers the rest). */
const MAX_DELAY_MS = 30 * 24 * 3600 * 1000;

/** True when `value` is a well-formed queue message. */
export function isQueueMessage(value: unknown): value is QueueMessage {
  const v = value as QueueMessage;
  return typeof v === "object" && v !== null && typeof v.kind === "string" && typeof v.id === "string";
}

/** This process's worker as a queue adapter sees it: the handler in this isolate, or the worker isolate on the bus. */
export interface LocalWorker {
  /** The handler, once `listen` has run in this isolate. */
  readonly handler: QueueHandler | undefined;
  /** Registers this isolate's handler (once) and receives the HTTP isolates' wake-ups over the bus. */
  listen(handler: QueueHandler, adapter: string): void;
  /** Runs `message` on this isolate's handler, on a later tick; false without one. */
  run(message: QueueMessage): boolean;
  /** Wakes the worker of this process (here or over the bus); false when this process runs none. */
  wake(message: QueueMessage): boolean;
}

/** The one way a queue adapter reaches the worker of its own process, whichever transport it has. */
export function localWorker(options: KvQueueOptions): LocalWorker {
  let handler: QueueHandler | undefined;
  const run = (message: QueueMessage): boolean => {
    const h = handler;
    if (!h) return false;
    const copy = { kind: message.kind, id: message.id };
    setTimeout(() => void h(copy).catch(() => {}), 0);
    return true;
  };
  return {
    get handler() {
      return handler;
    },
    listen(h, adapter) {
      if (handler) throw new Error(`${adapter}: already listening`);
      handler = h;
      options.bus?.onWake((message) => void run(message));
    },
    run,
    wake(message) {
      if (run(message)) return true;
      if (!options.bus || !options.workerOnBus) return false;
      options.bus.wake({ kind: message.kind, id: message.id });
      return true;
    },
  };
}

/** Most enqueues committed in one KV atomic operation. */
const KV_BATCH = 500;

/**
 * The Deno KV queue adapter, and the one place that decides how a wake-up travels. A message due now goes
 * straight to the worker when this process has one: to the handler when this isolate listens (the worker
 * isolate), over the process bus when another isolate of this process does (an HTTP isolate). The row it
 * points at is already committed in SQLite, and the due-work poll and the start-up sweep redo it after a crash, so KV
 * would add nothing to an immediate wake-up but latency. Delayed messages, and wake-ups from a process without
 * a worker (a second server, a CLI command), go through KV; each KV write costs a few ms (one fsync), so
 * enqueues made in the same tick are committed together. Handlers never throw, so KV never retries.
 */
export function kvQueue(kv: Deno.Kv, options: KvQueueOptions = {}): JobQueue {
  const worker = localWorker(options);
  let batch: Array<{ message: QueueMessage; delay: number; done: (err?: unknown) => void }> = [];
  const flush = async () => {
    const taken = batch;
    batch = [];
    for (let i = 0; i < taken.length; i += KV_BATCH) {
      const part = taken.slice(i, i + KV_BATCH);
      const op = kv.atomic();
      for (const m of part) op.enqueue(m.message, m.delay > 0 ? { delay: m.delay } : undefined);
      try {
        await op.commit();
        for (const m of part) m.done();
      } catch (err) {
        for (const m of part) m.done(err);
      }
    }
  };
  return {
    wake: worker.wake,
    enqueue(message, opts = {}) {
      const delay = Math.max(0, Math.min(Math.round(opts.delayMs ?? 0), MAX_DELAY_MS));
      if (delay === 0 && worker.wake(message)) return Promise.resolve();
      const copy = { kind: message.kind, id: message.id };
      return new Promise<void>((resolve, reject) => {
        if (batch.length === 0) setTimeout(flush, 0);
        batch.push({ message: copy, delay, done: (err) => err ? reject(err) : resolve() });
      });
    },
    listen(handler) {
      worker.listen(handler, "kvQueue");
      kv.listenQueue(async (value: unknown) => {
        if (isQueueMessage(value)) await handler(value);
      }).catch(() => {/* the KV handle was closed */});
    },
  };
}

/** An in-memory queue for unit tests: messages wait until `deliverDue()` (by the given clock) or a listener. */
export interface MemoryQueue extends JobQueue {
  /** Messages not yet delivered, with the time they become due. */
  readonly waiting: Array<{ message: QueueMessage; dueAt: number }>;
  /** Delivers every message due by the clock (including ones enqueued meanwhile); returns how many ran. */
  deliverDue(handler?: QueueHandler): Promise<number>;
}

/** Creates the in-memory adapter; time comes from `clock`, so tests move delays with a fake clock. */
export function memoryQueue(clock: Clock): MemoryQueue {
  const waiting: Array<{ message: QueueMessage; dueAt: number }> = [];
  let listener: QueueHandler | undefined;
  const q: MemoryQueue = {
    waiting,
    enqueue(message, options = {}) {
      waiting.push({ message: { ...message }, dueAt: clock.now() + Math.max(0, options.delayMs ?? 0) });
      return Promise.resolve();
    },
    listen(handler) {
      listener = handler;
    },
    async deliverDue(handler) {
      const h = handler ?? listener;
      if (!h) throw new Error("memoryQueue: no handler");
      let ran = 0;
      for (;;) {
        const i = waiting.findIndex((w) => w.dueAt <= clock.now());
        if (i < 0) return ran;
        const [{ message }] = waiting.splice(i, 1);
        await h(message);
        ran++;
      }
    },
  };
  return q;
}
