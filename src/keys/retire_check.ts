/**
 * Retiring a server key that signed access tokens still valid makes them fail verification at once: the console
 * and the CLI warn and ask for an explicit "anyway" (`--force`) then.
 */
import type { KeyInfo } from "./server_keys.ts";

/**
 * Until when access tokens signed by each key may still be valid: a key signs until the next key begins to sign,
 * and a token lives DCI_TOKEN_TTL_SECONDS. Keys that never stopped signing (the active one) or never signed (a
 * waiting one) are left out.
 */
export function tokensValidUntil(keys: KeyInfo[], ttlSeconds: number): Map<string, number> {
  // `keys` is newest first (ServerKeys.list(), ties broken by insertion order): each key stopped signing when
  // the one before it in the list began to.
  // A waiting key has not signed yet, and one retired before its time never did.
  const signed = keys.filter((k) => k.status !== "next" && !(k.retired_at && k.retired_at <= k.signs_from));
  const out = new Map<string, number>();
  for (let i = 1; i < signed.length; i++) {
    out.set(signed[i].key_id, Date.parse(signed[i - 1].signs_from) + ttlSeconds * 1000);
  }
  return out;
}

/** The warning against retiring `key` while access tokens it signed are valid (until `until`), if any. */
export function retireWarning(key: KeyInfo, until: number | undefined, now: number): string | undefined {
  if (key.status !== "published" || until === undefined || until <= now) return undefined;
  return `Access tokens signed with ${key.key_id} stay valid until ${new Date(until).toISOString()}: ` +
    "retiring it now makes them fail verification.";
}
