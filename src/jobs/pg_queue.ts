/**
 * The job queue on PostgreSQL (issue 17 §2): wake-ups travel by LISTEN/NOTIFY, so several instances on one
 * database share work without Deno KV. As with the KV queue, a message only says "look at row `id` of `kind`":
 * the row is the record of truth and every claim is a conditional UPDATE, so a wake-up that reaches several
 * instances is handled once and a lost one (an instance killed with its timers, a LISTEN connection that was
 * down) is redone by the due-work poll and the start-up sweep from the tables.
 *
 * A message due now goes to this process's worker when it has one (the handler in this isolate, or over the
 * process bus from an HTTP isolate), else it is NOTIFYed on the channel every instance's worker LISTENs to. A
 * delayed message (a callback retry) waits on a timer in this process, then travels the same way.
 */
// @ts-types="@types/pg"
import pg from "pg";
import type { PgPool } from "../db/pg/pool.ts";
import type { Logger } from "../obs/log.ts";
import {
  isQueueMessage,
  type JobQueue,
  type KvQueueOptions,
  localWorker,
  type QueueMessage,
} from "./queue.ts";

/** The NOTIFY channel of work wake-ups. */
export const WORK_CHANNEL = "dci_work";

/** setTimeout's longest delay; a longer retry waits for the sweeper, which redoes every due row. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/** How long the listener waits before connecting again after its connection failed (doubling up to 30 s). */
const RECONNECT_MS = [250, 30_000] as const;

/** The PostgreSQL queue: a JobQueue with `close()` (ends the LISTEN connection and the pending timers). */
export interface PgQueue extends JobQueue {
  close(): Promise<void>;
}

/**
 * How long a listening connection must last for its loss to start the back-off afresh. A shorter one counts as
 * one more failed attempt, so a server (or a proxy in front of it) that accepts and drops at once is tried ever
 * less often, up to every 30 s, instead of every 250 ms with a warning each time.
 */
const STABLE_MS = 10_000;

/** Options: where this process's worker is (as for kvQueue), and where listener failures are logged. */
export interface PgQueueOptions extends KvQueueOptions {
  log?: Logger;
  /** Overrides STABLE_MS (tests). */
  stableMs?: number;
}

/** Creates the queue on `pool`'s database. Nothing connects until `listen` or the first NOTIFY. */
export function pgQueue(pool: PgPool, options: PgQueueOptions = {}): PgQueue {
  const worker = localWorker(options);
  const stableMs = options.stableMs ?? STABLE_MS;
  let listener: pg.Client | undefined;
  let closed = false;
  let retry: ReturnType<typeof setTimeout> | undefined;
  const timers = new Set<ReturnType<typeof setTimeout>>();

  const send = async (message: QueueMessage): Promise<void> => {
    if (worker.wake(message)) return;
    await pool.query("SELECT pg_notify($1, $2)", [
      WORK_CHANNEL,
      JSON.stringify({ kind: message.kind, id: message.id }),
    ]);
  };

  const connect = async (delay: number): Promise<void> => {
    if (closed || !worker.handler) return;
    const client = new pg.Client(pool.options);
    let failed = false;
    // A connection that listened for a while starts the back-off afresh when it is lost: the doubling is for
    // attempts that fail in a row, not for every outage the process has seen. One lost soon after it listened
    // is such a failed attempt.
    let listenedAt: number | undefined;
    const onError = (err: Error) => {
      if (failed) return; // "error" and "end" both report one failure
      failed = true;
      client.removeAllListeners();
      client.on("error", () => {});
      client.end().catch(() => {});
      if (listener === client) listener = undefined;
      if (closed) return;
      const stable = listenedAt !== undefined && performance.now() - listenedAt >= stableMs;
      const wait = stable ? RECONNECT_MS[0] : delay;
      options.log?.warn("work wake-up listener lost its connection; connecting again", {
        err,
        retry_ms: wait,
      });
      retry = setTimeout(() => void connect(Math.min(wait * 2, RECONNECT_MS[1])), wait);
    };
    client.on("error", onError);
    client.on("end", () => onError(new Error("connection ended")));
    client.on("notification", (n) => {
      if (n.channel !== WORK_CHANNEL || !n.payload) return;
      let message: unknown;
      try {
        message = JSON.parse(n.payload);
      } catch {
        return;
      }
      if (isQueueMessage(message)) worker.run(message);
    });
    try {
      await client.connect();
      await client.query(`LISTEN ${WORK_CHANNEL}`);
      if (closed) {
        client.removeAllListeners();
        await client.end();
        return;
      }
      listener = client;
      listenedAt = performance.now();
    } catch (err) {
      onError(err as Error);
    }
  };

  return {
    wake: worker.wake,
    enqueue(message, opts = {}) {
      const delay = Math.max(0, Math.round(opts.delayMs ?? 0));
      if (delay === 0) return send(message);
      if (delay > MAX_TIMER_MS) return Promise.resolve();
      const timer = setTimeout(() => {
        timers.delete(timer);
        send(message).catch((err) => options.log?.warn("delayed work wake-up not sent", { err }));
      }, delay);
      // A pending retry never keeps the process alive: the row says it is due, and the sweeper finds it.
      Deno.unrefTimer(timer);
      timers.add(timer);
      return Promise.resolve();
    },
    listen(handler) {
      worker.listen(handler, "pgQueue");
      void connect(RECONNECT_MS[0]);
    },
    async close() {
      closed = true;
      clearTimeout(retry);
      for (const t of timers) clearTimeout(t);
      timers.clear();
      const client = listener;
      listener = undefined;
      if (client) {
        client.removeAllListeners();
        client.on("error", () => {});
        await client.end().catch(() => {});
      }
    },
  };
}
