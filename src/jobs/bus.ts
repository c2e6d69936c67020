/**
 * The process bus: one BroadcastChannel per server run joining the main isolate (queue worker, notifier, cron)
 * and its HTTP isolates. It carries immediate wake-ups (`{kind, id}`, the same ids-only messages as the queue)
 * to the worker isolate, and metrics snapshots so `/metrics` reports the whole process. An HTTP isolate sends
 * its wake-ups over its worker port instead (`toMain`): Deno's BroadcastChannel holds 256 messages for a
 * receiver and drops the oldest of one further behind (a main isolate busy for a fraction of a second under
 * load), where a worker port is ordered and drops nothing. Nothing on it is a record: a lost wake-up is redone
 * by the due-work poll and the start-up sweep from the database.
 */
import type { QueueMessage } from "./queue.ts";
import type { Metrics, MetricsSnapshot } from "../obs/metrics.ts";

type BusMessage =
  | { t: "wake"; m: QueueMessage[] }
  | { t: "metrics?"; req: string }
  | { t: "metrics"; req: string; snap: MetricsSnapshot };

/** This isolate's end of the bus. */
export interface ProcessBus {
  /** The channel name (handed to the isolates that join). */
  readonly name: string;
  /** This isolate's id ("main", "http-1", ...). */
  readonly isolate: string;
  /** Posts a wake-up for the worker isolate; wake-ups posted in one tick travel as one message. */
  wake(message: QueueMessage): void;
  /** Receives wake-ups posted by the other isolates (the worker isolate registers this). */
  onWake(handler: (message: QueueMessage) => void): void;
  /** Hands this isolate's handler the wake-ups an HTTP isolate sent over its worker port (the main isolate). */
  deliver(messages: readonly QueueMessage[]): void;
  /** Metrics snapshots of the other isolates that answer within `timeoutMs`. */
  peerMetrics(timeoutMs?: number): Promise<MetricsSnapshot[]>;
  close(): void;
}

/** Options: this isolate's id, how many isolates share the bus, and the metrics this isolate answers with. */
export interface BusOptions {
  isolate: string;
  isolates: number;
  metrics: Metrics;
  /** Sends this isolate's wake-ups to the main isolate over its worker port (an HTTP isolate), not the channel. */
  toMain?: (messages: QueueMessage[]) => void;
}

/** A bus name unique to this server run, so two servers in one process (tests) never hear each other. */
export function newBusName(): string {
  return `dci-bus:${crypto.randomUUID()}`;
}

/** Joins the bus `name` from this isolate. */
export function openBus(name: string, options: BusOptions): ProcessBus {
  const channel = new BroadcastChannel(name);
  let wakeHandler: ((message: QueueMessage) => void) | undefined;
  let outbox: QueueMessage[] = [];
  const waiting = new Map<string, (snap: MetricsSnapshot) => void>();
  let closed = false;

  const deliver = (messages: readonly QueueMessage[]) => {
    if (wakeHandler) { for (const m of messages) wakeHandler(m); }
  };

  channel.onmessage = (e: MessageEvent<BusMessage>) => {
    const msg = e.data;
    if (msg.t === "wake") deliver(msg.m);
    else if (msg.t === "metrics?") {
      post({ t: "metrics", req: msg.req, snap: { ...options.metrics.snapshot(), isolate: options.isolate } });
    } else if (msg.t === "metrics") {
      waiting.get(msg.req)?.(msg.snap);
    }
  };

  function post(msg: BusMessage): void {
    if (closed) return;
    try {
      channel.postMessage(msg);
    } catch { /* closing: the due-work poll and the start-up sweep cover lost wake-ups */ }
  }

  function flush(): void {
    const m = outbox;
    outbox = [];
    if (!options.toMain) return post({ t: "wake", m });
    if (closed) return;
    try {
      options.toMain(m);
    } catch { /* closing: as a lost wake-up on the channel */ }
  }

  return {
    name,
    isolate: options.isolate,
    wake(message) {
      if (outbox.length === 0) setTimeout(flush, 0);
      outbox.push({ kind: message.kind, id: message.id });
    },
    onWake(handler) {
      wakeHandler = handler;
    },
    deliver,
    peerMetrics(timeoutMs = 250) {
      const expected = options.isolates - 1;
      if (expected <= 0 || closed) return Promise.resolve([]);
      const req = crypto.randomUUID();
      const got: MetricsSnapshot[] = [];
      return new Promise((resolve) => {
        const done = () => {
          clearTimeout(timer);
          waiting.delete(req);
          resolve(got);
        };
        const timer = setTimeout(done, timeoutMs);
        waiting.set(req, (snap) => {
          got.push(snap);
          if (got.length >= expected) done();
        });
        post({ t: "metrics?", req });
      });
    },
    close() {
      if (closed) return;
      if (outbox.length > 0) flush();
      closed = true;
      for (const resolve of waiting.values()) resolve({ families: [] });
      channel.close();
    },
  };
}
