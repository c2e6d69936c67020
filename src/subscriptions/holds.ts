/**
 * Offboarding on the notifier's side: a disabled sender's lanes wait (their notifications stay pending, in
 * order, until it is enabled); a deleted sender's subscriptions are cancelled when a lane meets them (normally
 * the delete already did it; this catches one created while the delete committed). And where a notification
 * goes is read at send time, so a changed sender callback URL applies to what is still waiting.
 */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { type DeliverySender, deliverySender, type Sender } from "../senders/store.ts";
import { heldForSender, standingHold, standingOf } from "../senders/pause.ts";
import type { SubscriptionRow } from "./store.ts";
import type { LaneHoldRow } from "./lane_store.ts";
import { notifyUrl } from "./rules.ts";

/** True when a lane must stop before sending for this subscription (and cancels it if its sender is gone). */
export function laneHeld(deps: Deps, sub: Pick<SubscriptionRow, "id" | "sender_id">): Promise<boolean> {
  return heldForSender(
    deps,
    sub.sender_id,
    (reason) => deps.storage.subscriptions.cancelForDeletedSender({ id: sub.id }, reason, isoNow(deps.clock)),
  );
}

/**
 * The check a notification makes right before it is sent (after any wait for an outbound slot): why it must
 * not go out now, or undefined. Reads the database, so a disable or cancel in any isolate, process or instance counts at once.
 */
export async function notificationHold(
  deps: Deps,
  subscriptionId: number,
  rowId: number,
): Promise<string | undefined> {
  // One statement for the subscription, the notification and the sender's standing: it runs before every send.
  return holdReason(await deps.storage.lanes.hold(subscriptionId, rowId));
}

/**
 * The check a lane makes before it builds a notify: `notificationHold`'s answer as `held`, and otherwise the
 * sender as the send needs it, from the same statement (the send reads the sender no more).
 */
export async function sendCheck(
  deps: Deps,
  subscriptionId: number,
  rowId: number,
): Promise<{ held: string } | { held?: undefined; sender?: DeliverySender }> {
  const found = await deps.storage.lanes.sendCheck(subscriptionId, rowId);
  const held = holdReason(found?.hold);
  if (held !== undefined) return { held };
  return { sender: found?.sender && deliverySender(deps, found.sender) };
}

function holdReason(row: LaneHoldRow | undefined): string | undefined {
  if (!row || row.state !== "active" || row.status !== "pending") return "the notification is no longer due";
  return standingHold(row.sender_id, standingOf(row.active));
}

/**
 * Where a subscription's notifications go now: the sender's registered callback base as it is at send time,
 * else the header.sender_uri of the subscribe request, else the URL recorded at subscribe time. A changed URL
 * is recorded on the subscription, so operators see where notifications go.
 */
export async function currentNotifyUrl(
  deps: Deps,
  sub: SubscriptionRow,
  sender: Sender | undefined,
  requested: () => Promise<string | undefined> = () => subscribeUri(deps, sub),
): Promise<string> {
  const base = sender?.callback_base_url ?? await requested();
  const url = notifyUrl(base, sender?.callback_url_mode) ?? sub.callback_url;
  if (url !== sub.callback_url) {
    await deps.storage.lanes.setCallbackUrl(sub.id, url);
    // A lane keeps its row for the run: it sees the recorded URL, and records a change once.
    sub.callback_url = url;
  }
  return url;
}

/** The header.sender_uri of the subscription's subscribe request, if any (it never changes once stored). */
export function subscribeUri(
  deps: Deps,
  sub: Pick<SubscriptionRow, "correlation_id">,
): Promise<string | undefined> {
  return deps.storage.lanes.subscribeUri(sub.correlation_id);
}
