/**
 * Counting semaphores fair by key: they bound concurrent work, since KV's listenQueue runs every ready
 * message at once. And the parking of work turned away from a full queue.
 */

interface KeyWaiter {
  seq: number;
  grant: () => void;
}

/**
 * Runs at most `limit` tasks at a time and at most `perKey` of one key (a sender), and gives each free slot to
 * the waiting key with the fewest tasks running (the oldest waiter among equals). A key alone still uses
 * `perKey` slots; another key's first task never waits for more than one of the busy key's tasks to end, since
 * the slots `perKey` leaves free are never the busy key's.
 */
export class FairLimiter {
  #active = 0;
  #waiting = 0;
  #seq = 0;
  #running = new Map<string, number>();
  // One FIFO per key: a grant looks at each waiting key once, not at every waiter.
  #queues = new Map<string, KeyWaiter[]>();

  constructor(readonly limit: number, readonly perKey: number = limit) {}

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting;
  }

  /** Tasks of `key` waiting for a slot. */
  waitingFor(key: string): number {
    return this.#queues.get(key)?.length ?? 0;
  }

  /** Runs `fn` for `key` when a slot is free for it. */
  async run<T>(key: string, fn: () => Promise<T>): Promise<T> {
    // After every grant no waiter can run, so a newcomer that can run takes its slot at once.
    if (this.#runnable(key)) this.#count(key, 1);
    else {
      await new Promise<void>((grant) => {
        const queue = this.#queues.get(key);
        const waiter = { seq: this.#seq++, grant };
        if (queue) queue.push(waiter);
        else this.#queues.set(key, [waiter]);
        this.#waiting++;
      });
    }
    try {
      return await fn();
    } finally {
      this.#count(key, -1);
      this.#dispatch();
    }
  }

  #runnable(key: string): boolean {
    return this.#active < this.limit && (this.#running.get(key) ?? 0) < this.perKey;
  }

  #dispatch(): void {
    while (this.#active < this.limit) {
      let best: string | undefined;
      for (const [key, queue] of this.#queues) {
        const running = this.#running.get(key) ?? 0;
        if (running >= this.perKey) continue;
        const bestRunning = best === undefined ? Infinity : this.#running.get(best) ?? 0;
        if (
          running < bestRunning || (running === bestRunning && queue[0].seq < this.#queues.get(best!)![0].seq)
        ) {
          best = key;
        }
      }
      if (best === undefined) return;
      const queue = this.#queues.get(best)!;
      const waiter = queue.shift()!;
      if (queue.length === 0) this.#queues.delete(best);
      this.#waiting--;
      this.#count(best, 1);
      waiter.grant();
    }
  }

  #count(key: string, delta: 1 | -1): void {
    this.#active += delta;
    const n = (this.#running.get(key) ?? 0) + delta;
    if (n > 0) this.#running.set(key, n);
    else this.#running.delete(key);
  }
}

/**
 * Transactions a worker turned away because the queue they would wait in was full, kept by id (a few bytes, not
 * the row): the due-work poll passes over them while that queue stays full, and a wake-up for one of them returns
 * at once, without reading its row. At most `max` are kept (another one is simply found again by the poll), each
 * for at most `ttlMs` (one finished elsewhere meanwhile is never handed again to be forgotten).
 */
export class Parking {
  #parked = new Map<number, { full: () => boolean; until: number }>();

  constructor(readonly options: { max: number; ttlMs: number; now: () => number }) {}

  /** Keeps `id` aside while `full()` holds. */
  park(id: number, full: () => boolean): void {
    if (this.#parked.size < this.options.max || this.#parked.has(id)) {
      this.#parked.set(id, { full, until: this.options.now() + this.options.ttlMs });
    }
  }

  /** Whether `id` is parked and its queue still full; otherwise it is forgotten (it may run now). */
  holds(id: number): boolean {
    const entry = this.#parked.get(id);
    if (!entry) return false;
    if (entry.full() && entry.until > this.options.now()) return true;
    this.#parked.delete(id);
    return false;
  }

  /** Transactions parked now (forgetting those whose queue has room or whose time is up). */
  count(): number {
    for (const id of this.#parked.keys()) this.holds(id);
    return this.#parked.size;
  }
}
