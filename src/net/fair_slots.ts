/**
 * Fair concurrency slots for outbound work: at most `total` holders, at most `perDestination` per destination
 * (scheme://host:port) and `perSender` per sender. A destination that never answers holds only its share, and
 * a waiter never waits behind one that cannot run: each free slot goes to a waiter whose destination and sender
 * are under their caps, the one whose destination holds the fewest slots, among those the destination served
 * longest ago, then the oldest waiter. So when destinations that stopped answering hold every slot between them,
 * the slots their timed-out attempts free go to destinations that answer in turn with theirs, not to the next of
 * their own backlogs (oldest first, a healthy partner waited for those backlogs to drain: minutes at the
 * defaults).
 */

/** The caps. A cap larger than `total` is simply `total`. */
export interface SlotCaps {
  total: number;
  perDestination: number;
  perSender: number;
}

/** What a holder is counted against. No sender: only the destination and total caps apply. */
export interface SlotKey {
  destination: string;
  sender?: string;
}

interface Waiter {
  seq: number;
  key: SlotKey;
  grant: () => void;
}

/** The destination key of a URL: its origin (scheme, host and port); the text itself if it does not parse. */
export function destinationOf(url: string | URL): string {
  try {
    return (typeof url === "string" ? new URL(url) : url).origin;
  } catch {
    return String(url);
  }
}

/** Fair slots (see the module comment). */
export class FairSlots {
  #active = 0;
  #waiting = 0;
  #seq = 0;
  #byDestination = new Map<string, number>();
  /** When each destination was last granted a slot (a count of grants; at most 10,000 destinations kept). */
  #servedAt = new Map<string, number>();
  #grants = 0;
  #bySender = new Map<string, number>();
  // One FIFO per (destination, sender): all of a queue's waiters are blocked or runnable together, so a grant
  // looks at the queue heads only (a few), not at every waiter (thousands, in a callback backlog).
  #queues = new Map<string, Waiter[]>();

  constructor(readonly caps: SlotCaps) {}

  /** Holders now. */
  get active(): number {
    return this.#active;
  }

  /** Waiters now. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Waiters now for exactly `key` (its destination and sender). */
  waitingFor(key: SlotKey): number {
    return this.#queues.get(queueKeyOf(key))?.length ?? 0;
  }

  /**
   * Waits for a slot for `key`; resolves with the function that gives it back (idempotent). Rejects with the
   * signal's reason if `signal` aborts first (the waiter leaves the queue).
   */
  acquire(key: SlotKey, signal?: AbortSignal): Promise<() => void> {
    return new Promise((resolve, reject) => {
      if (signal?.aborted) return reject(signal.reason);
      const release = () => {
        let released = false;
        return () => {
          if (released) return;
          released = true;
          this.#count(key, -1);
          this.#dispatch();
        };
      };
      // After every grant no waiter is runnable, so a newcomer that can run takes its slot at once.
      if (this.#runnable(key)) {
        this.#count(key, +1);
        return resolve(release());
      }
      const queueKey = queueKeyOf(key);
      const onAbort = () => {
        const queue = this.#queues.get(queueKey);
        const i = queue?.indexOf(waiter) ?? -1;
        if (i < 0) return;
        queue!.splice(i, 1);
        if (queue!.length === 0) this.#queues.delete(queueKey);
        this.#waiting--;
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        seq: this.#seq++,
        key,
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release());
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      const queue = this.#queues.get(queueKey);
      if (queue) queue.push(waiter);
      else this.#queues.set(queueKey, [waiter]);
      this.#waiting++;
    });
  }

  /** Runs `fn` holding a slot for `key`. */
  async run<T>(key: SlotKey, fn: () => Promise<T>): Promise<T> {
    const release = await this.acquire(key);
    try {
      return await fn();
    } finally {
      release();
    }
  }

  #runnable(key: SlotKey): boolean {
    return this.#active < this.caps.total &&
      (this.#byDestination.get(key.destination) ?? 0) < this.caps.perDestination &&
      (key.sender === undefined || (this.#bySender.get(key.sender) ?? 0) < this.caps.perSender);
  }

  /**
   * Grants free slots: to the runnable waiter whose destination holds the fewest, among those the destination
   * served longest ago, then the oldest waiter; a blocked queue keeps its place but blocks no one.
   */
  #dispatch(): void {
    while (this.#active < this.caps.total) {
      let best: { queueKey: string; queue: Waiter[]; held: number; served: number } | undefined;
      for (const [queueKey, queue] of this.#queues) {
        const head = queue[0];
        if (!this.#runnable(head.key)) continue;
        const held = this.#byDestination.get(head.key.destination) ?? 0;
        const served = this.#servedAt.get(head.key.destination) ?? -1;
        if (
          !best || held < best.held || (held === best.held && served < best.served) ||
          (held === best.held && served === best.served && head.seq < best.queue[0].seq)
        ) {
          best = { queueKey, queue, held, served };
        }
      }
      if (!best) return;
      const waiter = best.queue.shift()!;
      if (best.queue.length === 0) this.#queues.delete(best.queueKey);
      this.#waiting--;
      this.#count(waiter.key, +1);
      waiter.grant();
    }
  }

  #count(key: SlotKey, delta: 1 | -1): void {
    if (delta > 0) {
      if (this.#servedAt.size >= 10_000 && !this.#servedAt.has(key.destination)) this.#servedAt.clear();
      this.#servedAt.set(key.destination, this.#grants++);
    }
    this.#active += delta;
    bump(this.#byDestination, key.destination, delta);
    if (key.sender !== undefined) bump(this.#bySender, key.sender, delta);
  }
}

/** The queue of a key: one per (destination, sender). */
function queueKeyOf(key: SlotKey): string {
  return `${key.destination}\n${key.sender ?? ""}`;
}

function bump(map: Map<string, number>, key: string, delta: number): void {
  const n = (map.get(key) ?? 0) + delta;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
