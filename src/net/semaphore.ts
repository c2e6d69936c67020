/** A counting semaphore: at most `size` holders at a time, waiters served in order. */
export class Semaphore {
  #free: number;
  #waiting: Array<() => void> = [];

  constructor(size: number) {
    this.#free = size;
  }

  /** Waits for a slot; returns the function that gives it back (call it exactly once). */
  acquire(): Promise<() => void> {
    return new Promise((resolve) => {
      const grant = () => {
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          const next = this.#waiting.shift();
          if (next) next();
          else this.#free++;
        });
      };
      if (this.#free > 0) {
        this.#free--;
        grant();
      } else this.#waiting.push(grant);
    });
  }
}
