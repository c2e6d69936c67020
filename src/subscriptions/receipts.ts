/**
 * Receipts: `POST …/registry/sync/receipt` (signed `on-receipt` response) and the async `…/registry/receipt`
 * (a `receipt` transaction: ACK 202, then the durable `on-receipt` callback run by the transaction worker) mark
 * one of the caller's own notifications received. Both run `receiptProcessor` (bound in the action table).
 */
import type { Deps } from "../deps.ts";
import { type ReceiptMessageShape as Message, receiptTarget as targetOf } from "../dci/messages.ts";
import { isoNow } from "../clock.ts";
import type { ProcessInput, ProcessResult } from "../dci/processor.ts";
import type { ReceiptTarget } from "./notifications.ts";

function notFound(target: ReceiptTarget | undefined, senderId: string): string {
  if (target?.notificationId === undefined) {
    return `No delivered notification of subscription ${
      JSON.stringify(target?.subscriptionCode ?? "")
    } of sender "${senderId}"`;
  }
  const within = target.subscriptionCode === undefined
    ? ""
    : ` in subscription ${JSON.stringify(target.subscriptionCode)}`;
  return `No notification ${JSON.stringify(target.notificationId)}${within} of sender "${senderId}"`;
}

/** The on-receipt result of one receipt message: the caller's own notification marked received, or rjct. */
export async function receipt(deps: Deps, senderId: string, m: Message, correlationId: string) {
  const target = targetOf(m);
  const now = isoNow(deps.clock);
  const r = target
    ? await deps.storage.notifications.markReceived(senderId, target, now)
    : { ok: false as const };
  const item = r.ok
    ? {
      notification_id: r.row.notification_id,
      subscription_code: r.row.subscription_code,
      status: "succ",
      timestamp: now,
    }
    : {
      ...(target?.notificationId === undefined ? {} : { notification_id: target.notificationId }),
      ...(target?.subscriptionCode === undefined ? {} : { subscription_code: target.subscriptionCode }),
      status: "rjct",
      status_reason_code: "rjct.reference_id.invalid",
      status_reason_message: notFound(target, senderId),
      timestamp: now,
    };
  return {
    status: (r.ok ? "succ" : "rjct") as "succ" | "rjct",
    // The item's code is item-level: the header carries the status and message only.
    reasonMessage: r.ok ? undefined : notFound(target, senderId),
    message: {
      transaction_id: m.transaction_id,
      correlation_id: correlationId,
      // The spec's ReceiptResponse shape (also what txn status of a receipt shows): what was acknowledged.
      receipt_information: {
        ...(m.receipt_information?.receipt_type === undefined
          ? {}
          : { receipt_type: m.receipt_information.receipt_type }),
        ...(item.notification_id === undefined ? {} : { notification_id: item.notification_id }),
        ...(item.subscription_code === undefined ? {} : { subscription_code: item.subscription_code }),
      },
      receipt_response: item,
    },
  };
}

/**
 * The receipt processor (sync and async `receipt`): marks the caller's own notification received (idempotent: a
 * re-run finds it received and answers the same).
 */
export async function receiptProcessor(deps: Deps, input: ProcessInput): Promise<ProcessResult> {
  const r = await receipt(deps, input.senderId, input.message as unknown as Message, input.correlationId);
  return { ...r, totalCount: 1, completedCount: 1 };
}
