/** The replay guard in SQLite: (sender_id, message_id) once per window, message_ts within the tolerance. */
import type { Deps } from "../deps.ts";
import { DciRejection } from "../dci/errors.ts";
import { stmt } from "../db/statements.ts";

/** Refuses a message_ts outside ± the replay window, then records (sender, message_id) or refuses a repeat. */
export function guardReplay(deps: Deps, senderId: string, messageId: string, messageTs: unknown): void {
  const now = deps.clock.now();
  const windowMs = deps.config.replayWindowSeconds * 1000;
  const ts = typeof messageTs === "string" ? Date.parse(messageTs) : NaN;
  if (typeof messageTs === "string" && (Number.isNaN(ts) || Math.abs(now - ts) > windowMs)) {
    throw new DciRejection(
      "rjct.message_ts.invalid",
      `message_ts "${
        messageTs.slice(0, 40)
      }" is not within ${deps.config.replayWindowSeconds} s of the server time`,
    );
  }
  // A row older than the window (not yet purged) is taken over; a fresh one means a replay.
  const res = stmt(
    deps.db,
    `INSERT INTO replay_guard (sender_id, message_id, seen_at_ms) VALUES (?, ?, ?)
     ON CONFLICT (sender_id, message_id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms
     WHERE seen_at_ms < ?`,
  ).run(senderId, messageId, now, now - windowMs);
  if (res.changes === 0) {
    throw new DciRejection(
      "rjct.message_id.duplicate",
      `message_id "${messageId}" was already received from sender "${senderId}"`,
    );
  }
}

/** Deletes replay records older than the window (run on a schedule). */
export function purgeReplay(deps: Deps): number {
  const cutoff = deps.clock.now() - deps.config.replayWindowSeconds * 1000;
  return Number(stmt(deps.db, "DELETE FROM replay_guard WHERE seen_at_ms < ?").run(cutoff).changes);
}
