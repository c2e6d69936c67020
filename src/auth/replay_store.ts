/** Where the replay guard keeps what it has seen: the interface the services use, and its SQLite implementation. */
import type { Db } from "../db/sqlite.ts";
import { purgeReplay, recordMessageId, type ReplayAt } from "./replay.ts";

/** (sender, message_id) pairs seen within the replay window; exact across isolates and instances. */
export interface ReplayGuard {
  /**
   * Records `messageId` of `senderId` as seen at `at.seenAtMs` (default `at.nowMs`; later to keep it longer) by a
   * request of `at.kind` (default "sync"); false when it was already seen within `at.windowMs` of `at.nowMs` (a
   * replay: nothing changes). A record older than the window is taken over, kind and all.
   */
  guard(senderId: string, messageId: string, at: ReplayAt): Promise<boolean>;
  /** Deletes records seen before `beforeMs`; returns how many. */
  purge(beforeMs: number): Promise<number>;
}

/** The replay guard in the embedded SQLite database. */
export function sqliteReplayGuard(db: Db): ReplayGuard {
  return {
    guard: (senderId, messageId, at) =>
      Promise.try(() => recordMessageId(db, senderId, messageId, at) === undefined),
    purge: (beforeMs) => Promise.try(() => purgeReplay(db, beforeMs)),
  };
}
