/** Operator actions on subscriptions and their notifications, shared by the admin API and the CLI. */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import type { SubscriptionRow } from "./store.ts";
import type { NotificationView } from "./notifications.ts";
import { wakeNotifier } from "./notifier.ts";
import { settleEnded } from "./expiry.ts";

/** Why an operator action was refused. */
export class SubscriptionOpError extends Error {
  constructor(readonly kind: "not_found" | "conflict", message: string) {
    super(message);
    this.name = "SubscriptionOpError";
  }
}

/** A subscription as shown to operators (JSON fields parsed). */
export function subscriptionView(row: SubscriptionRow): Record<string, unknown> {
  const { filter, frequency, lease_until: _l, dedupe_key: _d, ...rest } = row;
  return {
    ...rest,
    filter: filter ? JSON.parse(filter) : null,
    frequency: frequency ? JSON.parse(frequency) : null,
  };
}

async function find(deps: Deps, code: string): Promise<SubscriptionRow> {
  const row = await deps.storage.subscriptions.get(code);
  if (!row) throw new SubscriptionOpError("not_found", `No subscription "${code}"`);
  return row;
}

/** The subscription with this code, or SubscriptionOpError. */
export function showSubscription(deps: Deps, code: string): Promise<SubscriptionRow> {
  return find(deps, code);
}

/** pending → active. */
export async function approve(deps: Deps, code: string): Promise<SubscriptionRow> {
  const row = await find(deps, code);
  const done = await deps.storage.subscriptions.approve(code, isoNow(deps.clock));
  if (!done) throw new SubscriptionOpError("conflict", `Subscription "${code}" is ${row.state}, not pending`);
  deps.log.info("subscription approved", { subscription: code, sender_id: row.sender_id });
  wakeNotifier(deps);
  return done;
}

/**
 * error → active; the notifications that failed since the last delivered one are re-sent (`resent`), then
 * those that waited, in order.
 */
export async function reactivate(
  deps: Deps,
  code: string,
): Promise<{ row: SubscriptionRow; resent: number }> {
  const row = await find(deps, code);
  const done = await deps.storage.subscriptions.reactivate(code, isoNow(deps.clock));
  if (!done) throw new SubscriptionOpError("conflict", `Subscription "${code}" is ${row.state}, not error`);
  deps.log.info("subscription reactivated", {
    subscription: code,
    sender_id: row.sender_id,
    resent: done.resent,
  });
  wakeNotifier(deps);
  return done;
}

/** Refuses a notification retry unless the subscription is active and its sender enabled. */
async function retryable(deps: Deps, sub: SubscriptionRow): Promise<void> {
  if (sub.state === "error") {
    throw new SubscriptionOpError(
      "conflict",
      `Subscription "${sub.code}" is in error: reactivate it (its undelivered notifications are re-sent)`,
    );
  }
  if (sub.state !== "active") {
    throw new SubscriptionOpError(
      "conflict",
      `Subscription "${sub.code}" is ${sub.state}: its notifications are not re-sent`,
    );
  }
  if ((await deps.storage.senders.standing(sub.sender_id)) !== "active") {
    throw new SubscriptionOpError(
      "conflict",
      `Sender "${sub.sender_id}" is disabled or deleted: its notifications are held or cancelled`,
    );
  }
}

/**
 * Re-sends one failed notification (operator): pending again with a fresh attempt budget, same notification id
 * and message_id. It goes before any later notification of its subscription still waiting. A member of a batch
 * (a cron frequency) is re-sent with the failed rest of it, as it was sealed: same members, same message_id.
 */
export async function retryNotification(deps: Deps, notificationId: string): Promise<NotificationView> {
  const n = await deps.storage.notifications.get(notificationId);
  if (!n) throw new SubscriptionOpError("not_found", `No notification "${notificationId}"`);
  await retryable(deps, (await deps.storage.subscriptions.getById(n.subscription_id))!);
  if (!await deps.storage.notifications.reopenFailed({ id: n.id }, isoNow(deps.clock))) {
    throw new SubscriptionOpError(
      "conflict",
      `Notification "${notificationId}" is ${n.status}; only failed notifications can be retried`,
    );
  }
  deps.log.info("notification retry requested by operator", {
    notification_id: notificationId,
    subscription: n.subscription_code,
  });
  wakeNotifier(deps);
  return (await deps.storage.notifications.get(notificationId))!;
}

/** Re-sends every failed notification of a subscription (operator), oldest first; returns how many. */
export async function retrySubscriptionNotifications(
  deps: Deps,
  code: string,
): Promise<{ row: SubscriptionRow; retried: number }> {
  const row = await find(deps, code);
  await retryable(deps, row);
  const retried = await deps.storage.notifications.reopenFailed(
    { subscriptionId: row.id },
    isoNow(deps.clock),
  );
  deps.log.info("notification retry requested by operator", { subscription: code, retried });
  if (retried > 0) wakeNotifier(deps);
  return { row, retried };
}

/**
 * pending|active|error → cancelled: none of its waiting notifications is sent any more; they fail after the
 * cancel, a chunk at a time (the first before this returns).
 */
export async function cancel(deps: Deps, code: string): Promise<SubscriptionRow> {
  const row = await find(deps, code);
  const done = await deps.storage.subscriptions.end(row.id, "cancelled", isoNow(deps.clock), "operator");
  if (!done) throw new SubscriptionOpError("conflict", `Subscription "${code}" is already ${row.state}`);
  deps.log.info("subscription cancelled by operator", { subscription: code, sender_id: row.sender_id });
  await settleEnded(deps, { ids: [done.id] });
  return done;
}
