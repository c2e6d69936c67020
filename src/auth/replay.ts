/**
 * The replay guard: a message_ts within the tolerance, and (sender_id, message_id) accepted once per window. The
 * message_ts check is here; the record lives in the storage (src/auth/replay_store.ts), in the same write as the
 * request's rate-limit count (src/auth/admission.ts).
 */
import type { Deps } from "../deps.ts";
import type { Db } from "../db/sqlite.ts";
import { DciRejection } from "../dci/errors.ts";
import { stmt } from "../db/statements.ts";

/** Refuses a message_ts outside ± the replay window (a missing one is left to the schema). */
export function checkMessageTs(deps: Deps, messageTs: unknown, nowMs: number): void {
  const windowMs = deps.config.replayWindowSeconds * 1000;
  const ts = typeof messageTs === "string" ? Date.parse(messageTs) : NaN;
  if (typeof messageTs === "string" && (Number.isNaN(ts) || Math.abs(nowMs - ts) > windowMs)) {
    throw new DciRejection(
      "rjct.message_ts.invalid",
      `message_ts "${
        messageTs.slice(0, 40)
      }" is not within ${deps.config.replayWindowSeconds} s of the server time`,
    );
  }
}

/** The rejection of a message_id already received from its sender within the window. */
export function duplicateMessageId(senderId: string, messageId: string): DciRejection {
  return new DciRejection(
    "rjct.message_id.duplicate",
    `message_id "${messageId}" was already received from sender "${senderId}"`,
  );
}

/**
 * Records (sender, message_id) seen at ?; a row older than the window (the last ?, not yet purged) is taken over,
 * a fresh one changes nothing (a replay). SQLite (PostgreSQL names the table's column, src/auth/pg_replay_store.ts).
 */
export const RECORD_MESSAGE_ID =
  `INSERT INTO replay_guard (sender_id, message_id, seen_at_ms) VALUES (?, ?, ?)
     ON CONFLICT (sender_id, message_id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms
     WHERE seen_at_ms < ?`;
/** Deletes replay records seen before ?. Both backends. */
export const PURGE_REPLAY = "DELETE FROM replay_guard WHERE seen_at_ms < ?";

/**
 * When a message id is recorded: now, within the window; and the time its record counts from, when later than
 * now (it is kept until a window after that).
 */
export interface ReplayAt {
  nowMs: number;
  windowMs: number;
  seenAtMs?: number;
}

/** Records (sender, message_id); false when it was already recorded within the window (a replay). */
export function recordMessageId(db: Db, senderId: string, messageId: string, at: ReplayAt): boolean {
  return stmt(db, RECORD_MESSAGE_ID).run(
    senderId,
    messageId,
    Math.max(at.nowMs, at.seenAtMs ?? 0),
    at.nowMs - at.windowMs,
  ).changes !== 0;
}

/** Deletes replay records seen before `beforeMs`. */
export function purgeReplay(db: Db, beforeMs: number): number {
  return Number(stmt(db, PURGE_REPLAY).run(beforeMs).changes);
}
