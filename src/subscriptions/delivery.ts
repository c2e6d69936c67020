/**
 * Delivering notifications: the signed `notify` envelope of one logged notification, one POST through the
 * SSRF-guarded client, and the per-subscription lane that sends a subscription's notifications strictly in
 * order (the next only after the previous was sent or finally failed).
 */
import type { Deps } from "../deps.ts";
import { signedEnvelope } from "../dci/envelope.ts";
import { countRejection, type DeliveryOutcome } from "../net/deliver.ts";
import { deliverToSender } from "../senders/delivery.ts";
import { getSender } from "../senders/store.ts";
import { TEST_MODE_META } from "../senders/settings.ts";
import { stmt } from "../db/statements.ts";
import { EVENT_SNAPSHOT } from "../registry/events.ts";
import { retryDelay } from "../transactions/states.ts";
import { getSubscriptionById, type SubscriptionRow } from "./store.ts";
import { readSnapshot } from "./filter_eval.ts";
import { eventTypeName, localeOf } from "./rules.ts";
import { recordTypeName, regTypeName } from "../dci/vocabulary.ts";
import { headOf, type NotificationRow, type NotifyEvent } from "./notifications.ts";
import { batchOf, markBatch } from "./batches.ts";
import { cronExpression } from "./frequency.ts";
import { currentNotifyUrl, laneHeld, notificationHold, subscribeUri as subscribeUriOf } from "./holds.ts";
import { markSentGrouped } from "./sent_marks.ts";
import { withNotificationFields } from "./notify_fields.ts";

type Json = Record<string, unknown>;

/** A deleted record is sent as its identifiers only. */
export function identifiersOnly(record: Json): Json {
  const out: Json = {};
  for (const k of ["@type", "@id", "identifier", "group_identifier", "member_identifier"]) {
    if (record[k] !== undefined) out[k] = record[k];
  }
  return out;
}

/** One notification of a notify message: its log row and the event's record and time. */
export interface NotifyItem {
  n: NotificationRow;
  snapshot: Json;
  eventAt: string;
}

/**
 * The `notify` message of one notification or of a batch (a subscription with a cron frequency), in the
 * spec's NotifyEventRequest shape: one notify_event per notification, whose `reg_records` is the event's
 * record (an object, as the spec declares it; a delete sends its identifiers), with `reg_type` and
 * `reg_record_type` named as search answers name them. The first notification's id is the transaction_id.
 */
export function notifyMessage(sub: SubscriptionRow, items: NotifyItem[]): Json {
  return {
    transaction_id: items[0].n.notification_id,
    notify_event: items.map(({ n, snapshot, eventAt }) => ({
      reference_id: n.notification_id,
      timestamp: eventAt,
      subscription_code: sub.code,
      data: {
        version: "1.0.0",
        reg_type: regTypeName(sub.registry),
        reg_event_type: eventTypeName(n.event_type),
        reg_record_type: recordTypeName(sub.record_type),
        reg_records: n.event_type === "delete" ? identifiersOnly(snapshot) : snapshot,
      },
      ...(localeOf(sub.locale) ? { locale: localeOf(sub.locale) } : {}),
    })),
  };
}

/** What a lane passes to each send: the hold check, and the subscribe request's sender_uri read once. */
export interface SendOptions {
  /** The first row's registry event, read with the row (one query less per send). */
  event?: NotifyEvent;
  hold?: () => string | undefined;
  /** The caller made the `hold` check itself in this turn, right before the call (see deliverToSender). */
  checkedNow?: boolean;
  subscribeUri?: () => string | undefined;
}

/**
 * Signs and POSTs one notify carrying `rows` (one notification, or a sealed batch) once, to the subscription's
 * URL as it is now; `hold` is asked right before sending (see postEnvelope). Never throws; the receiver's body
 * is never read into errors.
 */
export async function sendNotification(
  deps: Deps,
  sub: SubscriptionRow,
  rows: NotificationRow[],
  options: SendOptions = {},
): Promise<DeliveryOutcome> {
  const items: NotifyItem[] = [];
  for (const n of rows) {
    const ev = n === rows[0] && options.event ? options.event : stmt(deps.db, EVENT_OF).get(n.event_id) as
      | NotifyEvent
      | undefined;
    if (!ev) return { ok: false, permanent: true, error: `registry event ${n.event_id} no longer exists` };
    items.push({ n, snapshot: readSnapshot(ev.snapshot).record, eventAt: ev.created_at });
  }
  const head = rows[0];
  const sender = await getSender(deps, sub.sender_id);
  let body: string;
  try {
    const message = withNotificationFields(
      deps.extensions?.notificationFields,
      notifyMessage(sub, items),
      {
        registry: sub.registry,
        senderId: sub.sender_id,
        subscriptionCode: sub.code,
        eventType: head.event_type,
      },
    );
    body = JSON.stringify(signedEnvelope(deps, {
      action: "notify",
      status: "succ",
      receiverId: sub.sender_id,
      totalCount: rows.length,
      completedCount: rows.length,
      messageId: head.message_id,
      meta: sender?.test_mode ? TEST_MODE_META : undefined,
    }, message));
  } catch (err) {
    deps.log.error("notification envelope could not be built", {
      notification_id: head.notification_id,
      err,
    });
    return { ok: false, permanent: false, error: "envelope: could not sign the notification" };
  }
  const url = currentNotifyUrl(deps, sub, sender, options.subscribeUri);
  return await deliverToSender(deps, sub.sender_id, url, body, {
    headers: { "X-DCI-Notification-ID": head.notification_id },
    what: "notification URL",
    hold: options.hold,
    checkedNow: options.checkedNow,
    testMode: sender?.test_mode,
    logFields: { notification_id: head.notification_id },
  });
}

const EVENT_OF = `SELECT ${EVENT_SNAPSHOT} AS snapshot, e.created_at FROM registry_events e WHERE e.id = ?`;

/** Options of a lane run (tests pass a fixed jitter source). */
export interface LaneOptions {
  random?: () => number;
}

/**
 * Delivers the due notifications of one active subscription, oldest first, holding the subscription's lease.
 * Stops at the first one that must wait for a retry. Returns how many were sent.
 */
export async function runLane(
  deps: Deps,
  subscriptionId: number,
  options: LaneOptions = {},
): Promise<number> {
  const iso = (ms: number) => new Date(ms).toISOString();
  const leaseMs = deps.config.leaseSeconds * 1000;
  const claim = () => {
    const now = deps.clock.now();
    return stmt(
      deps.db,
      `UPDATE subscriptions SET lease_until = ? WHERE id = ? AND state = 'active'
       AND (lease_until IS NULL OR lease_until <= ?) RETURNING id`,
    ).get(iso(now + leaseMs), subscriptionId, iso(now)) !== undefined;
  };
  if (!claim()) return 0;
  let leaseUntil = deps.clock.now() + leaseMs;
  const delay = retryDelay(deps.config.callbackRetryDelaysMs, options.random);
  let sent = 0;
  let uri: { value: string | undefined } | undefined;
  const subscribeUri = (sub: SubscriptionRow) => () => (uri ??= { value: subscribeUriOf(deps, sub) }).value;
  // Read once per run: what may change while it is active is checked per send (the hold: state, sender, row)
  // or written by the lane itself (failures, the URL), and re-read after a failure.
  let sub = getSubscriptionById(deps.db, subscriptionId);
  let checked = false;
  try {
    for (;;) {
      if (!sub || (!checked && (sub.state !== "active" || laneHeld(deps, sub)))) break;
      checked = true;
      const head = headOf(deps.db, subscriptionId);
      const n = head?.n;
      if (!n || n.next_attempt_at > iso(deps.clock.now())) break;
      if (notificationHold(deps, subscriptionId, n.id) !== undefined) {
        // Something changed (a cancel, a disabled or deleted sender): read the subscription and check again.
        sub = getSubscriptionById(deps.db, subscriptionId);
        checked = false;
        continue;
      }
      // The lease is renewed once half of it is used, not per notification (a write saved on each send).
      if (leaseUntil - deps.clock.now() < leaseMs / 2) {
        leaseUntil = deps.clock.now() + leaseMs;
        stmt(deps.db, "UPDATE subscriptions SET lease_until = ? WHERE id = ?").run(
          iso(leaseUntil),
          subscriptionId,
        );
      }
      const started = performance.now();
      const now = iso(deps.clock.now());
      const rows = cronExpression(sub.frequency)
        ? batchOf(deps.db, n, { now, max: deps.config.notifyBatchMax })
        : [n];
      const outcome = await sendNotification(deps, sub, rows, {
        hold: () => notificationHold(deps, subscriptionId, n.id),
        // Checked just above, in this same turn: the subscription is active, its sender too, the row pending.
        checkedNow: true,
        subscribeUri: subscribeUri(sub),
        event: rows.length === 1 ? head.event : undefined,
      });
      // Held right before sending (its sender was disabled or deleted): no attempt made, the lane stops.
      if (!outcome.ok && outcome.held) break;
      deps.metrics.observe(
        "dci_notification_seconds",
        "Notification delivery attempt latency",
        {},
        (performance.now() - started) / 1000,
      );
      const at = iso(deps.clock.now());
      if (outcome.ok) {
        sent += await markSentGrouped(deps, rows, at);
        if (sub.consecutive_failures > 0) {
          stmt(deps.db, "UPDATE subscriptions SET consecutive_failures = 0, last_error = NULL WHERE id = ?")
            .run(subscriptionId);
          sub = { ...sub, consecutive_failures: 0, last_error: null };
        }
        count("sent");
        continue;
      }
      if (outcome.receiverCode) countRejection(deps, "notification", outcome.receiverCode);
      const wait = outcome.permanent ? null : delay(n.attempts + 1);
      if (wait !== null) {
        markBatch(
          deps.db,
          rows,
          { kind: "retry", failure: outcome, nextAt: iso(deps.clock.now() + wait) },
          at,
        );
        count("retry");
        break;
      }
      markBatch(deps.db, rows, { kind: "failed", failure: outcome }, at);
      count("failed");
      deps.log.warn("notification failed", {
        subscription: sub.code,
        notification_id: n.notification_id,
        error: outcome.error,
      });
      if (recordFailure(deps, sub, outcome.error, at)) break;
      sub = getSubscriptionById(deps.db, subscriptionId);
      checked = false;
    }
  } finally {
    if (deps.db.isOpen) {
      stmt(deps.db, "UPDATE subscriptions SET lease_until = NULL WHERE id = ?").run(subscriptionId);
    }
  }
  return sent;

  function count(outcome: string): void {
    deps.metrics.inc("dci_notifications_total", "Notification attempts by outcome (sent, retry, failed)", {
      outcome,
    });
  }
}

/** Counts a finally failed notification; at the limit the subscription moves to error. True when it did. */
function recordFailure(deps: Deps, sub: SubscriptionRow, error: string, now: string): boolean {
  const row = stmt(
    deps.db,
    `UPDATE subscriptions SET consecutive_failures = consecutive_failures + 1, last_error = ?, updated_at = ?,
       state = CASE WHEN consecutive_failures + 1 >= ? THEN 'error' ELSE state END
     WHERE id = ? AND state = 'active' RETURNING state`,
  ).get(error.slice(0, 500), now, deps.config.subscriptionFailureLimit, sub.id) as
    | { state: string }
    | undefined;
  if (row?.state === "error") {
    deps.log.warn("subscription moved to error after consecutive failures", {
      subscription: sub.code,
      sender_id: sub.sender_id,
      failures: deps.config.subscriptionFailureLimit,
    });
    return true;
  }
  return false;
}
