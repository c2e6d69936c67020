/**
 * Fair concurrency slots for outbound work: at most `total` holders, at most `perDestination` per destination
 * (scheme://host:port) and `perSender` per sender. A destination that never answers holds only its share, and
 * a waiter never waits behind one that cannot run: each free slot goes to the oldest waiter whose destination
 * and sender are under their caps.
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
  #byDestination = new Map<string, number>();
  #bySender = new Map<string, number>();
  #waiting: Waiter[] = [];

  constructor(readonly caps: SlotCaps) {}

  /** Holders now. */
  get active(): number {
    return this.#active;
  }

  /** Waiters now. */
  get waiting(): number {
    return this.#waiting.length;
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
      const onAbort = () => {
        const i = this.#waiting.indexOf(waiter);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter: Waiter = {
        key,
        grant: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(release());
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      // Older waiters that could run already hold slots, so this one runs at once if its caps allow.
      this.#waiting.push(waiter);
      this.#dispatch();
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

  /** Grants free slots to the oldest runnable waiters; a blocked one keeps its place but blocks no one. */
  #dispatch(): void {
    for (let i = 0; i < this.#waiting.length && this.#active < this.caps.total;) {
      const waiter = this.#waiting[i];
      if (!this.#runnable(waiter.key)) {
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      this.#count(waiter.key, +1);
      waiter.grant();
    }
  }

  #count(key: SlotKey, delta: 1 | -1): void {
    this.#active += delta;
    bump(this.#byDestination, key.destination, delta);
    if (key.sender !== undefined) bump(this.#bySender, key.sender, delta);
  }
}

function bump(map: Map<string, number>, key: string, delta: number): void {
  const n = (map.get(key) ?? 0) + delta;
  if (n > 0) map.set(key, n);
  else map.delete(key);
}
