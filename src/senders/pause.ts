/**
 * Whether anything may be sent to a sender now. A disabled sender's subscriptions, notifications and callbacks
 * are held in the database (every isolate, worker and instance reads the same row), and a deleted one's are cancelled, so
 * delivery code asks here right before each send rather than trusting what it read when it claimed the work.
 */
/**
 * SQL for the ids of disabled senders, to write `sender_id NOT IN ${DISABLED_SENDERS}` in work queries: held
 * work must not fill a batch (the due-work query, due lanes) that other senders' work is waiting for.
 */
export const DISABLED_SENDERS = "(SELECT sender_id FROM senders WHERE active = 0)";

import type { Deps } from "../deps.ts";

/** A sender as delivery sees it: enabled, disabled (deliveries wait), or deleted (deliveries are cancelled). */
export type SenderStanding = "active" | "disabled" | "deleted";

/** The reason recorded on work cancelled because its sender was deleted. */
export function deletedReason(senderId: string): string {
  return `cancelled: sender "${senderId}" was deleted`;
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
 * True when work for the sender must wait (disabled) or stop (deleted), read through the store so a change by any
 * isolate, process or instance counts; for a deleted sender `cancel` runs first with the reason to record, so the
 * work ends for good rather than waiting.
 */
export async function heldForSender(
  deps: Deps,
  senderId: string,
  cancel: (reason: string) => Promise<unknown>,
): Promise<boolean> {
  const standing = await deps.storage.senders.standing(senderId);
  if (standing === "deleted") await cancel(deletedReason(senderId));
  return standing !== "active";
}
