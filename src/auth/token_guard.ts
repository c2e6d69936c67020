/**
 * What keeps the token endpoint cheap under a flood of bad requests (one per isolate, built in openDeps):
 * a bound on concurrent client-secret hashes (scrypt costs ~100 ms of a core and 16 MB each), and a cache of
 * credentials already verified, so a client that authenticated once is not hashed again.
 *
 * The cache holds, per client id, an HMAC of the secret under a random key that never leaves this isolate's
 * memory (a fingerprint that is not the secret and cannot be tested offline) and the stored hash it was
 * verified against. A hit requires the stored hash read from SQLite on this request to be the same one, so a
 * rotation or revocation in any isolate or process ends the cached credential at the next request.
 */
import { createHmac, randomBytes, timingSafeEqual } from "node:crypto";
import type { Buffer } from "node:buffer";

/** Requests that may wait for a hash slot, per running slot; beyond that the endpoint answers 503. */
const WAITING_PER_SLOT = 4;
/** Most cached credentials per isolate (only verified ones enter, so this is the number of live clients). */
const MAX_ENTRIES = 10_000;

/** The per-isolate hash bound and verified-credential cache of the token endpoint. */
export class TokenGuard {
  readonly #key = randomBytes(32);
  readonly #verified = new Map<string, { fingerprint: Buffer; storedHash: string }>();
  /** Requests waiting for a slot, served in arrival order. */
  readonly #waiting: Array<() => void> = [];
  #running = 0;
  readonly #concurrency: number;
  readonly #maxPending: number;
  #pending = 0;
  /** Client ids with a hash running or waiting in this isolate. */
  readonly #inFlight = new Map<string, number>();

  constructor(options: { hashConcurrency: number }) {
    this.#concurrency = options.hashConcurrency;
    this.#maxPending = options.hashConcurrency * (1 + WAITING_PER_SLOT);
  }

  #fingerprint(clientId: string, secret: string): Buffer {
    return createHmac("sha256", this.#key).update(clientId).update("\0").update(secret).digest();
  }

  /** True when `secret` was verified for `clientId` against this same stored hash (constant-time). */
  isVerified(clientId: string, secret: string, storedHash: string): boolean {
    const entry = this.#verified.get(clientId);
    if (!entry || entry.storedHash !== storedHash) return false;
    return timingSafeEqual(entry.fingerprint, this.#fingerprint(clientId, secret));
  }

  /** Remembers a credential that the slow hash has just verified. */
  remember(clientId: string, secret: string, storedHash: string): void {
    this.#verified.delete(clientId); // re-inserted last: the oldest entry is the first evicted
    if (this.#verified.size >= MAX_ENTRIES) this.#verified.delete(this.#verified.keys().next().value!);
    this.#verified.set(clientId, { fingerprint: this.#fingerprint(clientId, secret), storedHash });
  }

  /**
   * Runs `hash` for `clientId` once a slot is free, or returns `undefined` at once when the slots and the short
   * queue behind them are full (the caller answers 503 with Retry-After instead of queueing without bound).
   * A suspect request (its client id failed recently, or has a hash in flight here) never queues: it runs only
   * on an idle slot. So each known id an attacker guesses at holds at most one place in the queue, once, and
   * a new client's first hash does not wait behind a flood of guesses.
   */
  async withHashSlot<T>(
    clientId: string,
    hash: () => Promise<T>,
    options: { suspect?: boolean } = {},
  ): Promise<{ value: T } | undefined> {
    const suspect = options.suspect || this.#inFlight.has(clientId);
    if (this.#pending >= (suspect ? this.#concurrency : this.#maxPending)) return undefined;
    this.#pending++;
    this.#inFlight.set(clientId, (this.#inFlight.get(clientId) ?? 0) + 1);
    if (this.#running < this.#concurrency) this.#running++;
    else await new Promise<void>((granted) => this.#waiting.push(granted)); // the slot is handed over
    try {
      return { value: await hash() };
    } finally {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#running--;
      this.#pending--;
      const left = this.#inFlight.get(clientId)! - 1;
      if (left === 0) this.#inFlight.delete(clientId);
      else this.#inFlight.set(clientId, left);
    }
  }
}
