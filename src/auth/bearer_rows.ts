/**
 * The bearer check's cached client rows (src/auth/bearer.ts): per Deps, at most BEARER_ROWS entries, the one read
 * longest ago dropped first. An entry holds the row and the check that confirms it inside the admission's write.
 */
import type { BearerClientRow } from "./bearer_store.ts";

/** How many clients' rows one Deps keeps. */
export const BEARER_ROWS = 4096;

/** A cached row and the check that it is still what the database holds (BearerStore.confirm). */
export interface CachedBearerRow {
  row: BearerClientRow;
  confirm: (memo: Map<string, string>) => boolean;
}

/** Rows by client id, server key id and key alg. */
export class BearerRowCache {
  #rows = new Map<string, CachedBearerRow>();

  get(key: string): CachedBearerRow | undefined {
    return this.#rows.get(key);
  }

  /** Stores a freshly read row, as the newest entry. */
  set(key: string, entry: CachedBearerRow): void {
    this.#rows.delete(key);
    this.#rows.set(key, entry);
    if (this.#rows.size > BEARER_ROWS) this.#rows.delete(this.#rows.keys().next().value as string);
  }

  delete(key: string): void {
    this.#rows.delete(key);
  }
}
