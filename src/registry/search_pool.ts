/**
 * The search pool: searches that may examine many records run in Web Workers (search_worker.ts), each with its
 * own SQLite connection, never on the isolate that serves HTTP or runs the queue worker. node:sqlite is
 * synchronous, so a search on the HTTP isolate held `/healthz` and every other request for as long as it ran
 * (the statement budget bounds one search, not a sender who sends many).
 *
 * Fair by sender: at most one search of a sender runs at a time, and senders with waiting searches take
 * turns, so with two workers one sender (however many requests it has in flight) leaves a worker to the
 * others. Workers start on first use. A search that does not answer within the watchdog time of a ready
 * worker (a bug: the statement budget stops searches long before) ends its worker, which is replaced.
 */
import type { Config } from "../config.ts";
import type { Logger } from "../obs/log.ts";
import { DciRejection } from "../dci/errors.ts";
import type { SearchInput, SearchOutcome } from "./search_message.ts";
import type { FromSearchWorker, ToSearchWorker } from "./search_worker.ts";
import { fromWorkerError } from "./search_worker_error.ts";

/** Runs search messages in the workers. */
export interface SearchPool {
  /** The outcome of `input` sent by `senderId`; rejects with DciRejection as searchMessage throws it. */
  run(senderId: string, input: SearchInput): Promise<SearchOutcome>;
  /** Ends the workers; waiting and running searches reject. */
  close(): void;
}

interface Job {
  id: number;
  senderId: string;
  input: SearchInput;
  resolve(outcome: SearchOutcome): void;
  reject(err: Error): void;
}

interface Slot {
  worker?: Worker;
  /** The worker has loaded and opened the database (the watchdog counts from then on). */
  ready?: boolean;
  job?: Job;
  timer?: ReturnType<typeof setTimeout>;
}

/** Options: workers, the database file they open, the settings they search with. */
export interface SearchPoolOptions {
  size: number;
  dbPath: string;
  config: Config;
  log: Logger;
  /** A search running longer than this ends its worker (default: 20 budgets, at least 5 s). */
  watchdogMs?: number;
}

/** A pool of `size` search workers (started when first needed). */
export function createSearchPool(options: SearchPoolOptions): SearchPool {
  const watchdogMs = options.watchdogMs ?? Math.max(5_000, 20 * options.config.searchBudgetMs);
  const slots: Slot[] = Array.from({ length: options.size }, () => ({}));
  const waiting = new Map<string, Job[]>();
  const turns: string[] = []; // senders with waiting searches and none running, in the order they take turns
  const running = new Set<string>();
  let nextId = 1;
  let closed = false;

  const spawn = (slot: Slot): Worker => {
    const worker = new Worker(new URL("./search_worker.ts", import.meta.url), { type: "module" });
    worker.onmessage = (e: MessageEvent<FromSearchWorker>) => {
      if (!("ready" in e.data)) return finish(slot, e.data);
      slot.ready = true;
      if (slot.job) watch(slot);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      replace(slot, `search worker failed: ${e.message}`);
    };
    worker.postMessage({ t: "init", config: options.config, path: options.dbPath } satisfies ToSearchWorker);
    return worker;
  };

  const replace = (slot: Slot, reason: string) => {
    options.log.error("search worker replaced", { reason });
    slot.worker?.terminate();
    slot.worker = slot.ready = undefined;
    const job = release(slot);
    job?.reject(new Error(reason));
    dispatch();
  };

  const watch = (slot: Slot) => {
    slot.timer = setTimeout(() => replace(slot, `search did not answer within ${watchdogMs} ms`), watchdogMs);
  };

  const release = (slot: Slot): Job | undefined => {
    const job = slot.job;
    clearTimeout(slot.timer);
    slot.job = slot.timer = undefined;
    if (job) {
      running.delete(job.senderId);
      if (waiting.get(job.senderId)?.length) turns.push(job.senderId);
    }
    return job;
  };

  const finish = (slot: Slot, reply: Exclude<FromSearchWorker, { ready: true }>) => {
    if (slot.job?.id !== reply.id) return;
    const job = release(slot)!;
    if ("outcome" in reply) job.resolve(reply.outcome);
    else if ("rejection" in reply) {
      job.reject(new DciRejection(reply.rejection.code, reply.rejection.message));
    } else job.reject(fromWorkerError(reply.error));
    dispatch();
  };

  const dispatch = () => {
    for (const slot of slots) {
      if (slot.job || turns.length === 0) continue;
      const senderId = turns.shift()!;
      const queue = waiting.get(senderId)!;
      const job = queue.shift()!;
      if (queue.length === 0) waiting.delete(senderId);
      running.add(senderId);
      slot.job = job;
      slot.worker ??= spawn(slot);
      if (slot.ready) watch(slot);
      slot.worker.postMessage({ t: "search", id: job.id, input: job.input } satisfies ToSearchWorker);
    }
  };

  return {
    run(senderId, input) {
      if (closed) return Promise.reject(new Error("the search pool is closed"));
      return new Promise<SearchOutcome>((resolve, reject) => {
        const queue = waiting.get(senderId) ?? [];
        if (queue.length === 0 && !running.has(senderId)) turns.push(senderId);
        queue.push({ id: nextId++, senderId, input, resolve, reject });
        waiting.set(senderId, queue);
        dispatch();
      });
    },
    close() {
      closed = true;
      for (const slot of slots) {
        slot.worker?.terminate();
        slot.worker = undefined;
        release(slot)?.reject(new Error("the search pool is closed"));
      }
      for (const queue of waiting.values()) {
        for (const job of queue) job.reject(new Error("the search pool is closed"));
      }
      waiting.clear();
      turns.length = 0;
    },
  };
}
