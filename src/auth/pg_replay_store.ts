/**
 * The replay guard in PostgreSQL: the statement of SQLite's (src/auth/replay.ts) with the stored row's column named
 * (PostgreSQL finds a bare one ambiguous beside `excluded`). The primary key makes it exact across instances: of
 * two racing inserts of one pair, the second waits for the first to commit, then finds the row fresh and changes
 * nothing.
 */
import type { PgPool } from "../db/pg/pool.ts";
import { type PgQueryable, pgRun, pgText } from "../db/pg/query.ts";
import { PURGE_REPLAY, type ReplayAt } from "./replay.ts";
import type { ReplayGuard } from "./replay_store.ts";

const RECORD_MESSAGE_ID = `INSERT INTO replay_guard (sender_id, message_id, seen_at_ms) VALUES ($1, $2, $3)
  ON CONFLICT (sender_id, message_id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms
  WHERE replay_guard.seen_at_ms < $4`;

/** Records (sender, message_id) on `db` (the pool, or the client of an open transaction); false for a replay. */
export async function pgRecordMessageId(
  db: PgQueryable,
  senderId: string,
  messageId: string,
  at: ReplayAt,
): Promise<boolean> {
  const seen = Math.max(at.nowMs, at.seenAtMs ?? 0);
  return await pgRun(db, RECORD_MESSAGE_ID, [senderId, messageId, seen, at.nowMs - at.windowMs]) !== 0;
}

/** The replay guard in the PostgreSQL database behind `pool`. */
export function pgReplayGuard(pool: PgPool): ReplayGuard {
  return {
    guard: (senderId, messageId, at) => pgRecordMessageId(pool, senderId, messageId, at),
    purge: (beforeMs) => pgRun(pool, pgText(PURGE_REPLAY), [beforeMs]),
  };
}
