/**
 * The job queue: wakes the worker and delays retries. Messages carry ids only; the state they point at lives
 * in SQLite, and a sweeper redoes what SQLite says is due, so a lost or duplicated message costs nothing.
 */
import type { Clock } from "../clock.ts";

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
}

/** Deno's KV message limit for delays is 30 days; longer delays are clamped (the sweeper covers the rest). */
const MAX_DELAY_MS = 30 * 24 * 3600 * 1000;

/** True when `value` is a well-formed queue message. */
export function isQueueMessage(value: unknown): value is QueueMessage {
  const v = value as QueueMessage;
  return typeof v === "object" && v !== null && typeof v.kind === "string" && typeof v.id === "string";
}

/** Most enqueues committed in one KV atomic operation. */
const KV_BATCH = 500;

/**
 * The Deno KV queue adapter. Each KV write costs a few ms (one fsync), so enqueues made in the same tick are
 * committed together in one atomic operation. In the worker process (after `listen`), a message due now is
 * handed to the handler in-process: the row it points at is already committed in SQLite, and after a crash
 * the start-up sweep redoes it, so KV adds nothing to an immediate wake-up but latency. Delayed messages and
 * messages from non-worker processes go through KV. Handlers never throw, so KV never retries.
 */
export function kvQueue(kv: Deno.Kv): JobQueue {
  let local: QueueHandler | undefined;
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
    enqueue(message, options = {}) {
      const delay = Math.max(0, Math.min(Math.round(options.delayMs ?? 0), MAX_DELAY_MS));
      const copy = { kind: message.kind, id: message.id };
      if (delay === 0 && local) {
        const handler = local;
        setTimeout(() => void handler(copy).catch(() => {}), 0);
        return Promise.resolve();
      }
      return new Promise<void>((resolve, reject) => {
        if (batch.length === 0) setTimeout(flush, 0);
        batch.push({ message: copy, delay, done: (err) => err ? reject(err) : resolve() });
      });
    },
    listen(handler) {
      if (local) throw new Error("kvQueue: already listening");
      local = handler;
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
