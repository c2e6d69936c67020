/**
 * Offboarding a sender, shared by the admin API and the CLI. Disable holds everything the server would send it
 * (notifications of its subscriptions, callbacks of its async transactions, and their processing) at once, in
 * every isolate: delivery reads the sender's row in SQLite right before each send. Enable resumes them: its
 * subscriptions keep their state (active ones deliver again, those in error stay in error), notifications
 * logged meanwhile go out in order, held transactions are processed and called back. Delete cancels all of it
 * for good, in the same SQLite transaction as the delete, with the reason on every row.
 */
import type { Deps } from "../deps.ts";
import { transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { isoNow } from "../clock.ts";
import { getSender, removeSender, type Sender, SenderError, setSenderActive } from "./store.ts";
import { deletedReason } from "./pause.ts";
import { cancelForDeletedSender } from "../subscriptions/store.ts";
import { wakeNotifier } from "../subscriptions/notifier.ts";
import { cancelOpenTransactions, openTransactionIds } from "../transactions/store.ts";
import { TXN_KIND } from "../transactions/worker.ts";

/** A sender's outstanding work: live subscriptions, notifications waiting, open async transactions. */
export interface SenderWork {
  subscriptions: number;
  notifications: number;
  transactions: number;
}

/** Most transactions whose worker wake-up enable sends itself; the sweeper finds any others. */
const WAKE_LIMIT = 1000;

/** What the sender has outstanding now (held while it is disabled). */
export function senderWork(deps: Deps, senderId: string): SenderWork {
  const n = (sql: string) => Number((stmt(deps.db, sql).get(senderId) as { n: number }).n);
  return {
    subscriptions: n(
      "SELECT COUNT(*) AS n FROM subscriptions WHERE sender_id = ? AND state IN ('pending','active','error')",
    ),
    notifications: n(`SELECT COUNT(*) AS n FROM notifications WHERE status = 'pending'
      AND subscription_id IN (SELECT id FROM subscriptions WHERE sender_id = ?)`),
    transactions: n(`SELECT COUNT(*) AS n FROM transactions WHERE sender_id = ?
      AND state IN ('received','pending','processing','succeeded','rejected')`),
  };
}

/** Disables a sender: its requests and tokens are refused, and nothing is sent to it until it is enabled. */
export function disableSender(deps: Deps, senderId: string): { sender: Sender; held: SenderWork } {
  const sender = setSenderActive(deps, senderId, false);
  const held = senderWork(deps, senderId);
  deps.log.info("sender disabled; its deliveries are held", { sender_id: senderId, ...held });
  return { sender, held };
}

/** Enables a sender and wakes the worker and notifier for what was held. */
export async function enableSender(
  deps: Deps,
  senderId: string,
): Promise<{ sender: Sender; resumed: SenderWork }> {
  const sender = setSenderActive(deps, senderId, true);
  const resumed = senderWork(deps, senderId);
  wakeNotifier(deps);
  for (const id of openTransactionIds(deps.db, senderId, WAKE_LIMIT)) {
    await deps.queue.enqueue({ kind: TXN_KIND, id: String(id) }).catch((err) =>
      deps.log.warn("wake-up enqueue failed; the sweeper will pick it up", { sender_id: senderId, id, err })
    );
  }
  deps.log.info("sender enabled; held deliveries resume", { sender_id: senderId, ...resumed });
  return { sender, resumed };
}

/**
 * Deletes a sender with its keys and clients, and in the same SQLite transaction cancels its subscriptions
 * (cancelled, `cancelled_by` "sender-deleted"), fails its waiting notifications and ends its open transactions
 * as callback_failed, each with the reason. A sender registered again under the same id gets none of it.
 */
export function deleteSender(deps: Deps, senderId: string): SenderWork {
  if (!getSender(deps, senderId)) throw new SenderError("not_found", `sender "${senderId}" does not exist`);
  const now = isoNow(deps.clock);
  const reason = deletedReason(senderId);
  const cancelled = transaction(deps.db, () => {
    removeSender(deps, senderId);
    const subs = cancelForDeletedSender(deps.db, { senderId }, reason, now);
    return { ...subs, transactions: cancelOpenTransactions(deps.db, { senderId }, reason, now) };
  });
  deps.log.info("sender deleted; its subscriptions and deliveries are cancelled", {
    sender_id: senderId,
    ...cancelled,
  });
  return cancelled;
}
