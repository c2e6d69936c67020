/**
 * The replay guard in PostgreSQL: the statement of SQLite's (src/auth/replay.ts) with the stored row's column named
 * (PostgreSQL finds a bare one ambiguous beside `excluded`). The primary key makes it exact across instances: of
 * two racing inserts of one pair, the second waits for the first to commit, then finds the row fresh and changes
 * nothing.
 */
import type { PgPool } from "../db/pg/pool.ts";
import { pgOne, type PgQueryable, pgRun, pgText } from "../db/pg/query.ts";
import { PURGE_REPLAY, type ReplayAt, REPLAYED_KIND, type ReplayKind, replayKind } from "./replay.ts";
import type { ReplayGuard } from "./replay_store.ts";

const RECORD_MESSAGE_ID =
  `INSERT INTO replay_guard (sender_id, message_id, seen_at_ms, kind) VALUES ($1, $2, $3, $4)
  ON CONFLICT (sender_id, message_id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms, kind = excluded.kind
  WHERE replay_guard.seen_at_ms < $5`;

/**
 * Records (sender, message_id) on `db` (the pool, or the client of an open transaction); undefined when recorded,
 * else (a replay) the kind of the request that recorded it.
 */
export async function pgRecordMessageId(
  db: PgQueryable,
  senderId: string,
  messageId: string,
  at: ReplayAt,
): Promise<ReplayKind | undefined> {
  const seen = Math.max(at.nowMs, at.seenAtMs ?? 0);
  const params = [senderId, messageId, seen, at.kind ?? "sync", at.nowMs - at.windowMs];
  if (await pgRun(db, RECORD_MESSAGE_ID, params) !== 0) return undefined;
  const row = await pgOne<{ kind: string }>(db, pgText(REPLAYED_KIND), [senderId, messageId]);
  return replayKind(row?.kind);
}

/** The replay guard in the PostgreSQL database behind `pool`. */
export function pgReplayGuard(pool: PgPool): ReplayGuard {
  return {
    guard: async (senderId, messageId, at) =>
      await pgRecordMessageId(pool, senderId, messageId, at) === undefined,
    purge: (beforeMs) => pgRun(pool, pgText(PURGE_REPLAY), [beforeMs]),
  };
}
