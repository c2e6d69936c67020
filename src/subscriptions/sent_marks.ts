/**
 * The sent marks of the delivery lanes, written through the group commit: the lanes whose sends finish in the
 * same turn share one write transaction instead of one each. A lane waits for its mark before its next send,
 * so a crash re-sends at most the notification whose answer had come but whose mark had not committed: the
 * same at-least-once as a mark written alone, never an older window replayed after newer notifications.
 */
import type { Logger } from "../obs/log.ts";
import type { Storage } from "../db/storage.ts";
import type { NotificationRow } from "./notifications.ts";

/**
 * Marks `rows` (sent together in one notify) sent at `at` (on SQLite in the turn's group commit); resolves with how many
 * moved to sent once committed, undefined when the write failed (logged: the rows stay pending and are sent
 * again, before anything newer: the lane stops).
 */
export async function markSentGrouped(
  deps: { storage: Storage; log: Logger },
  rows: NotificationRow[],
  at: string,
): Promise<number | undefined> {
  try {
    return await deps.storage.notifications.markBatch(rows, { kind: "sent" }, at);
  } catch (err) {
    deps.log.error("notification sent mark failed; it will be sent again", { err });
    return undefined;
  }
}
