/**
 * The imported active keys of each sender, for one Deps (built once in openDeps): sender id → its keys and the
 * `keysStamp` they were read at. Per Deps rather than per module, so two Deps in one process never share keys.
 * Bounded by the number of senders (one entry each, replaced when the stamp moves), as is the record of each
 * sender's last on-demand JWKS refetch kept beside it.
 */
import type { KeyObject } from "node:crypto";
import type { KeyAlg } from "../keys/server_keys.ts";

/** A sender's imported active keys by key id. */
export type SenderKeySet = Map<string, { alg: KeyAlg; key: KeyObject }>;

/** The least time between two on-demand JWKS refetches of one sender on one Deps (ms). */
const REFETCH_INTERVAL_MS = 60_000;

/** Imported sender key sets, each under the stamp it was read at (src/senders/keys.ts `senderKeySet`). */
export class SenderKeyCache {
  #sets = new Map<string, { stamp: string; keys: SenderKeySet }>();
  #refetches = new Map<
    string,
    { startedMs: number; running: boolean; keys: Promise<SenderKeySet | undefined> }
  >();

  /** The keys of `senderId` cached at exactly `stamp`, else undefined (never a set under another stamp). */
  get(senderId: string, stamp: string): SenderKeySet | undefined {
    const hit = this.#sets.get(senderId);
    return hit && hit.stamp === stamp ? hit.keys : undefined;
  }

  /** Keeps `keys` for `senderId` under the stamp they were read at, replacing what was there. */
  set(senderId: string, stamp: string, keys: SenderKeySet): void {
    this.#sets.set(senderId, { stamp, keys });
  }

  /**
   * One flight of `refetch` per sender (src/senders/jwks_fetch.ts `keysAfterRefetch`): a refetch still running is
   * joined; one started less than REFETCH_INTERVAL_MS before `nowMs` gives undefined at once (a signature naming an
   * unknown key id on every request fetches at most once a minute); otherwise `refetch` starts now.
   */
  refetch(
    senderId: string,
    nowMs: number,
    refetch: () => Promise<SenderKeySet | undefined>,
  ): Promise<SenderKeySet | undefined> {
    const last = this.#refetches.get(senderId);
    if (last?.running) return last.keys;
    if (last && nowMs - last.startedMs < REFETCH_INTERVAL_MS) {
      return Promise.resolve(undefined);
    }
    const flight = {
      startedMs: nowMs,
      running: true,
      keys: Promise.resolve<SenderKeySet | undefined>(undefined),
    };
    flight.keys = Promise.try(refetch).finally(() => {
      flight.running = false;
    });
    this.#refetches.set(senderId, flight);
    return flight.keys;
  }
}
