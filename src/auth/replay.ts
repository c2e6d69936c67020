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
 * What admitted a message id. "sync": its answer is stored nowhere, so every copy within the window is a duplicate,
 * on any route (the envelope's signature does not cover the path). "async": a copy may be admitted again while no
 * transaction is stored under it (src/auth/admission.ts). Rows recorded before migration 0035 read as "sync".
 */
export type ReplayKind = "sync" | "async";

/**
 * Records (sender, message_id) seen at ? by a request of kind ?; a row older than the window (the last ?, not yet
 * purged) is taken over, kind and all, a fresh one changes nothing (a replay). SQLite: on PostgreSQL the admission
 * records it inside dci_admit (src/db/pg/migrations/0035_replay_guard_kind.sql).
 */
export const RECORD_MESSAGE_ID =
  `INSERT INTO replay_guard (sender_id, message_id, seen_at_ms, kind) VALUES (?, ?, ?, ?)
     ON CONFLICT (sender_id, message_id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms, kind = excluded.kind
     WHERE seen_at_ms < ?`;
/** The kind of request that recorded (sender ?, message_id ?). SQLite (dci_admit answers it on PostgreSQL). */
export const REPLAYED_KIND = "SELECT kind FROM replay_guard WHERE sender_id = ? AND message_id = ?";
/** Deletes replay records seen before ?. Both backends. */
export const PURGE_REPLAY = "DELETE FROM replay_guard WHERE seen_at_ms < ?";

/**
 * When a message id is recorded: now, within the window; the time its record counts from, when later than
 * now (it is kept until a window after that); and the kind of request that records it (default "sync": its copies
 * are always duplicates).
 */
export interface ReplayAt {
  nowMs: number;
  windowMs: number;
  seenAtMs?: number;
  kind?: ReplayKind;
}

/**
 * Records (sender, message_id); undefined when recorded, or, when it was already recorded within the window (a
 * replay), the kind of the request that recorded it.
 */
export function recordMessageId(
  db: Db,
  senderId: string,
  messageId: string,
  at: ReplayAt,
): ReplayKind | undefined {
  const changes = stmt(db, RECORD_MESSAGE_ID).run(
    senderId,
    messageId,
    Math.max(at.nowMs, at.seenAtMs ?? 0),
    at.kind ?? "sync",
    at.nowMs - at.windowMs,
  ).changes;
  if (changes !== 0) return undefined;
  const row = stmt(db, REPLAYED_KIND).get(senderId, messageId) as { kind: string } | undefined;
  return replayKind(row?.kind);
}

/** A stored kind as a ReplayKind: anything but "async" (a missing row too) is held to the stricter "sync". */
export function replayKind(stored: unknown): ReplayKind {
  return stored === "async" ? "async" : "sync";
}

/** Deletes replay records seen before `beforeMs`. */
export function purgeReplay(db: Db, beforeMs: number): number {
  return Number(stmt(db, PURGE_REPLAY).run(beforeMs).changes);
}
