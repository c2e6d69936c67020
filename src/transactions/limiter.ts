/** A counting semaphore: bounds concurrent work, since KV's listenQueue runs every ready message at once. */

/** Runs at most `limit` tasks at a time; the rest wait in arrival order. */
export class Limiter {
  #active = 0;
  #waiting: Array<() => void> = [];

  constructor(readonly limit: number) {}

  /** Tasks running now. */
  get active(): number {
    return this.#active;
  }

  /** Tasks waiting for a slot. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /** Runs `fn` when a slot is free. */
  async run<T>(fn: () => Promise<T>): Promise<T> {
    // A finishing task hands its slot straight to the next waiter, so no newcomer can slip in between.
    if (this.#active >= this.limit) await new Promise<void>((resolve) => this.#waiting.push(resolve));
    else this.#active++;
    try {
      return await fn();
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#active--;
    }
  }
}
