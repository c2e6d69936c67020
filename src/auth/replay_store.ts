/** Where the replay guard keeps what it has seen: the interface the services use, and its SQLite implementation. */
import type { Db } from "../db/sqlite.ts";
import { purgeReplay } from "./replay.ts";

/**
 * (sender, message_id) pairs seen within the replay window, as the admission records them (the limits store:
 * src/senders/limits_store.ts, and dci_admit on PostgreSQL); here their purge.
 */
export interface ReplayGuard {
  /** Deletes records seen before `beforeMs`; returns how many. */
  purge(beforeMs: number): Promise<number>;
}

/** The replay guard in the embedded SQLite database. */
export function sqliteReplayGuard(db: Db): ReplayGuard {
  return {
    purge: (beforeMs) => purgeReplay(db, beforeMs),
  };
}
