/**
 * Admin tokens this isolate verified within the last day (one per Deps, built in openDeps). While every client's
 * failed checks together are over DCI_ADMIN_LOGIN_FAILURE_LIMIT, such a token is still checked (against its own
 * address's limit only): that limit bounds the scrypt work a flood of guesses can buy, and without this anyone
 * who knows one token id (ids are not secret) could keep every operator out by filling it.
 *
 * Held as an HMAC of the token under a random key that never leaves this isolate's memory (a fingerprint that is
 * not the token and cannot be tested offline). A hit only spares the shared limit: the token is still looked up
 * (a revoked one is refused) and hashed as any other.
 */
import { createHmac, randomBytes } from "node:crypto";

/** How long a verified token is known. */
const KNOWN_MS = 24 * 3_600_000;
/** Most tokens known per isolate (operators' tokens are few; the oldest goes first). */
const MAX_KNOWN = 1_000;

/** The admin tokens verified here recently. */
export class KnownAdminTokens {
  readonly #key = randomBytes(32);
  readonly #known = new Map<string, number>();

  #fingerprint(token: string): string {
    return createHmac("sha256", this.#key).update(token).digest("base64");
  }

  /** Whether `token` was verified here within the last day, as of `nowMs`. */
  has(token: string, nowMs: number): boolean {
    const at = this.#known.get(this.#fingerprint(token));
    return at !== undefined && nowMs - at < KNOWN_MS;
  }

  /** Remembers a token that has just verified. */
  remember(token: string, nowMs: number): void {
    const key = this.#fingerprint(token);
    this.#known.delete(key); // re-inserted last: the oldest entry is the first evicted
    if (this.#known.size >= MAX_KNOWN) this.#known.delete(this.#known.keys().next().value!);
    this.#known.set(key, nowMs);
  }
}
