/**
 * Where wakeNotifier finds the notifier running on one Deps (built once in openDeps): startNotifier registers
 * it here and its stop() clears it. Per Deps rather than per module, so a notifier started on one Deps is never
 * woken through another.
 */

/** The part of a running notifier a wake needs. */
export interface Wakeable {
  wake(): void;
}

/** Holds the notifier running on these deps in this isolate, if any. */
export class NotifierWake {
  #running: Wakeable | undefined;

  /** Notes `notifier` as the one running on these deps (a later start replaces an earlier one). */
  register(notifier: Wakeable): void {
    this.#running = notifier;
  }

  /** Forgets the running notifier (its stop()). */
  clear(): void {
    this.#running = undefined;
  }

  /** Wakes the registered notifier; false when none runs here (the caller then wakes over the queue). */
  wake(): boolean {
    if (!this.#running) return false;
    this.#running.wake();
    return true;
  }
}
