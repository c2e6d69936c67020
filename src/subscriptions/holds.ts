/**
 * Offboarding on the notifier's side: a disabled sender's lanes wait (their notifications stay pending, in
 * order, until it is enabled); a deleted sender's subscriptions are cancelled when a lane meets them (normally
 * the delete already did it; this catches one created while the delete committed). And where a notification
 * goes is read at send time, so a changed sender callback URL applies to what is still waiting.
 */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { stmt } from "../db/statements.ts";
import type { Sender } from "../senders/store.ts";
import { heldForSender, standingHold, standingOf } from "../senders/pause.ts";
import { cancelForDeletedSender, type SubscriptionRow } from "./store.ts";
import { notifyUrl } from "./rules.ts";

/** True when a lane must stop before sending for this subscription (and cancels it if its sender is gone). */
export function laneHeld(deps: Deps, sub: Pick<SubscriptionRow, "id" | "sender_id">): boolean {
  return heldForSender(
    deps.db,
    sub.sender_id,
    (reason) => cancelForDeletedSender(deps.db, { id: sub.id }, reason, isoNow(deps.clock)),
  );
}

/**
 * The check a notification makes right before it is sent (after any wait for an outbound slot): why it must
 * not go out now, or undefined. Reads SQLite, so a disable or cancel in any isolate or process counts at once.
 */
export function notificationHold(deps: Deps, subscriptionId: number, rowId: number): string | undefined {
  // One statement for the subscription, the notification and the sender's standing: it runs before every send.
  const row = stmt(
    deps.db,
    `SELECT s.state, s.sender_id, n.status, (SELECT active FROM senders WHERE sender_id = s.sender_id) AS active
     FROM subscriptions s JOIN notifications n ON n.subscription_id = s.id WHERE s.id = ? AND n.id = ?`,
  ).get(subscriptionId, rowId) as
    | { state: string; sender_id: string; status: string; active: number | null }
    | undefined;
  if (!row || row.state !== "active" || row.status !== "pending") return "the notification is no longer due";
  return standingHold(row.sender_id, standingOf(row.active));
}

/**
 * Where a subscription's notifications go now: the sender's registered callback base as it is at send time,
 * else the header.sender_uri of the subscribe request, else the URL recorded at subscribe time. A changed URL
 * is recorded on the subscription, so operators see where notifications go.
 */
export function currentNotifyUrl(
  deps: Deps,
  sub: SubscriptionRow,
  sender: Sender | undefined,
  requested: () => string | undefined = () => subscribeUri(deps, sub),
): string {
  const base = sender?.callback_base_url ?? requested();
  const url = notifyUrl(base, sender?.callback_url_mode) ?? sub.callback_url;
  if (url !== sub.callback_url) {
    stmt(deps.db, "UPDATE subscriptions SET callback_url = ? WHERE id = ?").run(url, sub.id);
    // A lane keeps its row for the run: it sees the recorded URL, and records a change once.
    sub.callback_url = url;
  }
  return url;
}

/** The header.sender_uri of the subscription's subscribe request, if any (it never changes once stored). */
export function subscribeUri(deps: Deps, sub: Pick<SubscriptionRow, "correlation_id">): string | undefined {
  const uri = (stmt(
    deps.db,
    `SELECT CASE WHEN json_valid(request_header) THEN json_extract(request_header, '$.sender_uri') END AS uri
     FROM transactions WHERE correlation_id = ?`,
  ).get(sub.correlation_id) as { uri: unknown } | undefined)?.uri;
  return typeof uri === "string" ? uri : undefined;
}
