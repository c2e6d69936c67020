/**
 * The imported active keys of each sender, for one Deps (built once in openDeps): sender id → its keys and the
 * `keysStamp` they were read at. Per Deps rather than per module, so two Deps in one process never share keys.
 * Bounded by the number of senders (one entry each, replaced when the stamp moves).
 */
import type { KeyObject } from "node:crypto";
import type { KeyAlg } from "../keys/server_keys.ts";

/** A sender's imported active keys by key id. */
export type SenderKeySet = Map<string, { alg: KeyAlg; key: KeyObject }>;

/** Imported sender key sets, each under the stamp it was read at (src/senders/keys.ts `senderKeySet`). */
export class SenderKeyCache {
  #sets = new Map<string, { stamp: string; keys: SenderKeySet }>();

  /** The keys of `senderId` cached at exactly `stamp`, else undefined (never a set under another stamp). */
  get(senderId: string, stamp: string): SenderKeySet | undefined {
    const hit = this.#sets.get(senderId);
    return hit && hit.stamp === stamp ? hit.keys : undefined;
  }

  /** Keeps `keys` for `senderId` under the stamp they were read at, replacing what was there. */
  set(senderId: string, stamp: string, keys: SenderKeySet): void {
    this.#sets.set(senderId, { stamp, keys });
  }
}
