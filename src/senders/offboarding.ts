/**
 * Offboarding a sender, shared by the admin API and the CLI. Disable holds everything the server would send it
 * (notifications of its subscriptions, callbacks of its async transactions, and their processing) at once, in
 * every isolate: delivery reads the sender's row in the database right before each send. Enable resumes them: its
 * subscriptions keep their state (active ones deliver again, those in error stay in error), notifications
 * logged meanwhile go out in order, held transactions are processed and called back. Delete cancels all of it
 * for good, in the same transaction as the delete (waiting notifications fail after it, in chunks), with the
 * reason on every row.
 */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { type Sender, setSenderActive } from "./store.ts";
import { noSuchSender } from "./errors.ts";
import { deletedReason } from "./pause.ts";
import type { SenderWork } from "./sender_store.ts";
import { wakeNotifier } from "../subscriptions/notifier.ts";
import { settleEnded } from "../subscriptions/expiry.ts";
import { TXN_KIND } from "../transactions/worker.ts";

export type { SenderWork };

/** Most transactions whose worker wake-up enable sends itself; the sweeper finds any others. */
const WAKE_LIMIT = 1000;

/** What the sender has outstanding now (held while it is disabled). */
export function senderWork(deps: Deps, senderId: string): Promise<SenderWork> {
  return deps.storage.senders.work(senderId);
}

/** Disables a sender: its requests and tokens are refused, and nothing is sent to it until it is enabled. */
export async function disableSender(
  deps: Deps,
  senderId: string,
): Promise<{ sender: Sender; held: SenderWork }> {
  const sender = await setSenderActive(deps, senderId, false);
  const held = await senderWork(deps, senderId);
  deps.log.info("sender disabled; its deliveries are held", { sender_id: senderId, ...held });
  return { sender, held };
}

/** Enables a sender and wakes the worker and notifier for what was held. */
export async function enableSender(
  deps: Deps,
  senderId: string,
): Promise<{ sender: Sender; resumed: SenderWork }> {
  const sender = await setSenderActive(deps, senderId, true);
  const resumed = await senderWork(deps, senderId);
  wakeNotifier(deps);
  for (const id of await deps.storage.senders.openTransactionIds(senderId, WAKE_LIMIT)) {
    await deps.queue.enqueue({ kind: TXN_KIND, id: String(id) }).catch((err) =>
      deps.log.warn("wake-up enqueue failed; the sweeper will pick it up", { sender_id: senderId, id, err })
    );
  }
  deps.log.info("sender enabled; held deliveries resume", { sender_id: senderId, ...resumed });
  return { sender, resumed };
}

/**
 * Deletes a sender with its keys and clients, and in the same transaction cancels its subscriptions (cancelled,
 * `cancelled_by` "sender-deleted") and ends its open transactions as callback_failed, each with the reason; its
 * waiting notifications (counted as cancelled) are never sent and fail after it, a chunk at a time (the first
 * before this returns). A sender registered again under the same id gets none of it.
 */
export async function deleteSender(deps: Deps, senderId: string): Promise<SenderWork> {
  const cancelled = await deps.storage.senders.delete(senderId, deletedReason(senderId), isoNow(deps.clock));
  if (!cancelled) throw noSuchSender(senderId);
  await settleEnded(deps, { senderId });
  deps.log.info("sender deleted; its subscriptions and deliveries are cancelled", {
    sender_id: senderId,
    ...cancelled,
  });
  return cancelled;
}
