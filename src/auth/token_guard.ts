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
import { Semaphore } from "../net/semaphore.ts";

/** Requests that may wait for a hash slot, per running slot; beyond that the endpoint answers 503. */
const WAITING_PER_SLOT = 4;
/** Most cached credentials per isolate (only verified ones enter, so this is the number of live clients). */
const MAX_ENTRIES = 10_000;

/** The per-isolate hash bound and verified-credential cache of the token endpoint. */
export class TokenGuard {
  readonly #key = randomBytes(32);
  readonly #verified = new Map<string, { fingerprint: Buffer; storedHash: string }>();
  readonly #slots: Semaphore;
  readonly #maxPending: number;
  #pending = 0;

  constructor(options: { hashConcurrency: number }) {
    this.#slots = new Semaphore(options.hashConcurrency);
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
   * Runs `hash` once a slot is free, or returns `undefined` at once when the slots and the short queue behind
   * them are full (the caller answers 503 with Retry-After instead of queueing without bound).
   */
  async withHashSlot<T>(hash: () => Promise<T>): Promise<{ value: T } | undefined> {
    if (this.#pending >= this.#maxPending) return undefined;
    this.#pending++;
    const release = await this.#slots.acquire();
    try {
      return { value: await hash() };
    } finally {
      release();
      this.#pending--;
    }
  }
}
