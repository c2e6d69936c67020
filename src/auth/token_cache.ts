/**
 * The verified access tokens of one Deps (built once in openDeps): token text → the verification of its
 * signature, so a token seen before skips jose. Per Deps rather than per module, so two Deps in one process (two
 * test servers, an isolate's own) never share what one of them verified.
 */
import type { AccessClaims } from "./jwt.ts";
import type { KeyAlg } from "../keys/server_keys.ts";

/** A token whose signature verified: the server key that signed it and its (not yet checked) claims. */
export interface SignedToken {
  keyId: string;
  keyAlg: KeyAlg;
  claims: Partial<AccessClaims>;
}

/** The most tokens kept: past it the cache starts again empty (a flood of distinct tokens costs memory once). */
export const TOKEN_CACHE_MAX = 10_000;

/** Verifications of access tokens by token text (the bytes cannot change, so a hit never goes stale). */
export class TokenCache {
  #verified = new Map<string, Promise<SignedToken>>();

  /**
   * The verification of `token`: the one started before, else `verify()`'s. Concurrent first uses of one token
   * share one verification and resume in arrival order. A refused token is not kept: memory only for tokens
   * that verified.
   */
  verify(token: string, verify: () => Promise<SignedToken>): Promise<SignedToken> {
    const cache = this.#verified;
    const pending = cache.get(token);
    if (pending) return pending;
    const verifying = verify();
    if (cache.size >= TOKEN_CACHE_MAX) cache.clear();
    cache.set(token, verifying);
    verifying.catch(() => cache.get(token) === verifying && cache.delete(token));
    return verifying;
  }
}
