/**
 * Whether anything may be sent to a sender now. A disabled sender's subscriptions, notifications and callbacks
 * are held in SQLite (every isolate and the worker read the same row), and a deleted one's are cancelled, so
 * delivery code asks here right before each send rather than trusting what it read when it claimed the work.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";

/**
 * SQL for the ids of disabled senders, to write `sender_id NOT IN ${DISABLED_SENDERS}` in work queries: held
 * work must not fill a batch (sweeper, arrival poll, due lanes) that other senders' work is waiting for.
 */
export const DISABLED_SENDERS = "(SELECT sender_id FROM senders WHERE active = 0)";

/** A sender as delivery sees it: enabled, disabled (deliveries wait), or deleted (deliveries are cancelled). */
export type SenderStanding = "active" | "disabled" | "deleted";

/** The sender's standing now, from SQLite. */
export function senderStanding(db: Db, senderId: string): SenderStanding {
  const row = stmt(db, "SELECT active FROM senders WHERE sender_id = ?").get(senderId) as
    | { active: number }
    | undefined;
  return standingOf(row?.active);
}

/** The reason recorded on work cancelled because its sender was deleted. */
export function deletedReason(senderId: string): string {
  return `cancelled: sender "${senderId}" was deleted`;
}

/** Why nothing may be sent to the sender now (disabled or deleted), or undefined when it may. */
export function senderHold(db: Db, senderId: string): string | undefined {
  return standingHold(senderId, senderStanding(db, senderId));
}

/** Why nothing may be sent to a sender of this standing, or undefined when it may. */
export function standingHold(senderId: string, standing: SenderStanding): string | undefined {
  if (standing === "disabled") return `sender "${senderId}" is disabled`;
  if (standing === "deleted") return deletedReason(senderId);
  return undefined;
}

/** The standing of a sender from its row's `active` column (null: no row, the sender was deleted). */
export function standingOf(active: number | null | undefined): SenderStanding {
  if (active === null || active === undefined) return "deleted";
  return active === 1 ? "active" : "disabled";
}

/**
 * True when work for the sender must wait (disabled) or stop (deleted); for a deleted sender `cancel` is
 * called first with the reason to record, so the work ends for good rather than waiting.
 */
export function heldForSender(db: Db, senderId: string, cancel: (reason: string) => void): boolean {
  const standing = senderStanding(db, senderId);
  if (standing === "deleted") cancel(deletedReason(senderId));
  return standing !== "active";
}
