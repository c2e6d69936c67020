/**
 * Admission, the last step of the auth chain: the sender's rate limits and the replay guard, decided and counted
 * in one write of the storage (src/senders/limits_store.ts: on SQLite, the requests of one event-loop turn share
 * one write of the group commit; on PostgreSQL each is one short transaction). Each request gets its own
 * decision, exactly as if the requests had come one after another.
 */
import type { Deps } from "../deps.ts";
import type { RateDecision } from "../senders/rate_limit.ts";
import { checkMessageTs, duplicateMessageId, type ReplayKind } from "./replay.ts";

const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64];

/** How `admit` answers a message_id seen before. */
export interface AdmitOptions {
  /**
   * What the request records its message_id as (src/auth/replay.ts, default "async"). "sync": the request is
   * answered and nothing of it stored, so a message_id seen within the window is a duplicate. "async" (an async
   * action, an upload): it is one when a sync or write request recorded it (its body is as valid here: the
   * signature does not cover the path) or a transaction was stored under it. "write" (a sync action that writes
   * records): it is one unless a write request recorded it and has not yet been answered (`settle`).
   */
  kind?: ReplayKind;
  /** The bearer check's `confirm` (a cached client row): the admission fails with StaleBearerRow if it changed. */
  confirm?: (memo: Map<string, string>) => boolean;
}

/**
 * Counts a request against its sender's limits and records (sender, message_id) in the replay guard; resolves
 * with the limit decision, or rejects with the replay guard's rejection (a refused request is not counted) or
 * with the write's failure (nothing counted). `sentAtMs` is when the request arrived, if long before now (an
 * upload's body streams for minutes): its message_ts is held against that time.
 */
export async function admit(
  deps: Deps,
  senderId: string,
  limits: { minute: number; day: number },
  header: Record<string, unknown>,
  sentAtMs?: number,
  options: AdmitOptions = {},
): Promise<RateDecision> {
  const { message_id: messageId, message_ts: messageTs } = header;
  const kind = options.kind ?? "async";
  const nowMs = deps.clock.now();
  const windowMs = deps.config.replayWindowSeconds * 1000;
  // The message id's record is kept a window past the later of now and message_ts (accepted up to a window
  // either side), so no copy is accepted while its message_ts still is; an upload's a window more, as its body
  // may take up to a window to arrive after the message_ts check (receiveUpload's maxMs).
  const tsMs = typeof messageTs === "string" ? Date.parse(messageTs) : NaN;
  const seenAtMs = Math.max(nowMs, Number.isNaN(tsMs) ? 0 : tsMs) + (sentAtMs === undefined ? 0 : windowMs);
  const request = {
    senderId,
    limits,
    messageId: typeof messageId === "string" ? messageId : undefined,
    kind,
    confirm: options.confirm,
    replayWindowMs: windowMs,
    seenAtMs,
    check: typeof messageId === "string"
      ? () => checkMessageTs(deps, messageTs, sentAtMs ?? nowMs)
      : undefined,
    onWrite: (size: number) =>
      deps.metrics.observe(
        "dci_admission_batch_size",
        "Requests admitted per write transaction",
        {},
        size,
        BATCH_BUCKETS,
      ),
  };
  let outcome = await deps.storage.limits.admit(request, nowMs);
  if ("replayed" in outcome) {
    const again = outcome.replayed === "write"
      ? kind === "write"
      : outcome.replayed === "async" && kind === "async" &&
        !await deps.storage.transactions.hasMessageId(senderId, messageId as string);
    if (!again) throw duplicateMessageId(senderId, messageId as string);
    // Its message_id was admitted by an async request (a sync one's answer went out, stored nowhere, whatever
    // route this copy takes), but no transaction was stored under it: that copy's accept met a held lock or a
    // full disk (answered 503 with Retry-After), or was refused. This is the copy sent again, counted as a
    // request of its own; a copy of a stored one is refused above, and the store's dedupe key answers two copies
    // racing each other with the one stored ACK. Or it was admitted by a write request not yet answered (503
    // part-way, a crash, or still running): its writes are safe to repeat, and this copy applies them in full.
    // This write counts it, so it confirms a cached bearer row too.
    outcome = await deps.storage.limits.admit({ ...request, messageId: undefined }, nowMs);
  }
  if ("replayed" in outcome) throw duplicateMessageId(senderId, messageId as string);
  if ("error" in outcome) throw outcome.error;
  return outcome.decision;
}
