/**
 * Delivering notifications: the signed `notify` envelope of one logged notification, one POST through the
 * SSRF-guarded client, and the per-subscription lane that sends a subscription's notifications strictly in
 * order (the next only after the previous was sent or finally failed).
 */
import type { Deps } from "../deps.ts";
import { signedEnvelope } from "../dci/envelope.ts";
import { countRejection, type DeliveryOutcome } from "../net/deliver.ts";
import { deliverToSender } from "../senders/delivery.ts";
import type { DeliverySender } from "../senders/store.ts";
import { TEST_MODE_META } from "../senders/settings.ts";
import { retryDelay } from "../transactions/states.ts";
import type { SubscriptionRow } from "./store.ts";
import { readSnapshot } from "./filter_eval.ts";
import { eventTypeName, localeOf } from "./rules.ts";
import { recordTypeName, regTypeName } from "../dci/vocabulary.ts";
import type { NotificationRow, NotifyEvent, PendingNotification } from "./notifications.ts";
import { cronExpression } from "./frequency.ts";
import {
  currentNotifyUrl,
  laneHeld,
  notificationHold,
  sendCheck,
  subscribeUri as subscribeUriOf,
} from "./holds.ts";
import { markSentGrouped } from "./sent_marks.ts";
import { withNotificationFields } from "./notify_fields.ts";

type Json = Record<string, unknown>;

const IDENTIFYING = ["identifier", "group_identifier", "member_identifier"];

/**
 * A deleted record is sent as its identifiers only: `@type`, `@id` and its identifier lists. A record that keeps
 * them one or two levels down (fr's Farmer in `farmer_personal_details`, dr's PWDPerson in `personal_details`
 * and its `demographic_info`) keeps those objects with their identifiers alone.
 */
export function identifiersOnly(record: Json, depth = 0): Json {
  const out: Json = {};
  for (const k of ["@type", "@id", ...IDENTIFYING]) if (record[k] !== undefined) out[k] = record[k];
  if (IDENTIFYING.some((k) => k in out) || depth >= 2) return out;
  for (const [k, v] of Object.entries(record)) {
    if (v === null || typeof v !== "object" || Array.isArray(v) || k.startsWith("@")) continue;
    const inner = identifiersOnly(v as Json, depth + 1);
    if (Object.keys(inner).some((i) => !i.startsWith("@"))) out[k] = inner;
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

/**
 * What a lane passes to each send: the sender and the hold check, and the subscribe request's sender_uri read
 * once.
 */
export interface SendOptions {
  /** The sender as the lane's check read it right before (undefined: there is none). */
  sender: DeliverySender | undefined;
  /** The first row's registry event, read with the row (one query less per send). */
  event?: NotifyEvent;
  hold?: () => Promise<string | undefined>;
  /** The caller made the `hold` check itself in this turn, right before the call (see deliverToSender). */
  checkedNow?: boolean;
  subscribeUri?: () => Promise<string | undefined>;
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
  options: SendOptions,
): Promise<DeliveryOutcome> {
  const items: NotifyItem[] = [];
  for (const n of rows) {
    const ev = n === rows[0] && options.event ? options.event : await deps.storage.lanes.eventOf(n.event_id);
    if (!ev) return { ok: false, permanent: true, error: `registry event ${n.event_id} no longer exists` };
    items.push({ n, snapshot: readSnapshot(ev.snapshot).record, eventAt: ev.created_at });
  }
  const head = rows[0];
  const found = options.sender;
  const sender = found?.sender;
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
  const url = await currentNotifyUrl(deps, sub, sender, options.subscribeUri);
  return await deliverToSender(deps, sub.sender_id, url, body, {
    headers: { "X-DCI-Notification-ID": head.notification_id },
    what: "notification URL",
    hold: options.hold,
    checkedNow: options.checkedNow,
    outbound: found?.outbound,
    callbackBase: sender?.callback_base_url ?? null,
    testMode: sender?.test_mode,
    logFields: { notification_id: head.notification_id },
  });
}

/**
 * Pending rows a lane reads in one query. Rows go out by id and a row logged later has a higher id, so reading
 * ahead keeps the order; each row is checked (still pending, subscription active, sender enabled) right before
 * its send. A row set back to pending meanwhile (an operator's re-send of failed ones) goes after those read.
 */
const LANE_READ_AHEAD = 32;

/** Options of a lane run (tests pass a fixed jitter source). */
export interface LaneOptions {
  random?: () => number;
  /**
   * Asked when the lane has sent a full read-ahead and more may wait: true ends the run there, the rest still
   * due (the notifier's cap on running lanes: a lane gives way to those waiting for its slot, then queues again).
   */
  giveWay?: () => boolean;
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
  const lanes = deps.storage.lanes;
  const notifications = deps.storage.notifications;
  const claimedAt = deps.clock.now();
  let held = iso(claimedAt + leaseMs);
  if (!await lanes.claim(subscriptionId, iso(claimedAt), held)) return 0;
  let leaseUntil = claimedAt + leaseMs;
  const delay = retryDelay(deps.config.callbackRetryDelaysMs, options.random);
  let sent = 0;
  let uri: Promise<string | undefined> | undefined;
  const subscribeUri = (sub: SubscriptionRow) => () => uri ??= subscribeUriOf(deps, sub);
  // Read once per run: what may change while it is active is checked per send (the hold: state, sender, row)
  // or written by the lane itself (failures, the URL), and re-read after a failure.
  let sub = await deps.storage.subscriptions.getById(subscriptionId);
  let checked = false;
  // Whether the last read found as many rows as it asked for: then more may wait, and the lane may give way.
  let full = false;
  // The oldest pending rows, read LANE_READ_AHEAD at a time (each is checked again right before its send).
  const ahead: PendingNotification[] = [];
  let lost = false;
  /** Renews the lane's lease from now; false when another lane holds it. */
  const renewLease = async (): Promise<boolean> => {
    const until = deps.clock.now() + leaseMs;
    if (!await lanes.renew(subscriptionId, held, iso(until))) return false;
    leaseUntil = until;
    held = iso(until);
    return true;
  };
  try {
    for (;;) {
      if (!sub || (!checked && (sub.state !== "active" || await laneHeld(deps, sub)))) break;
      checked = true;
      if (ahead.length === 0) {
        if (full && options.giveWay?.()) break;
        const read = await notifications.pending(subscriptionId, LANE_READ_AHEAD);
        full = read.length === LANE_READ_AHEAD;
        ahead.push(...read);
      }
      const head = ahead.shift();
      if (!head || head.n.next_attempt_at > iso(deps.clock.now())) break;
      const n = head.n;
      const check = await sendCheck(deps, subscriptionId, n.id);
      if (check.held !== undefined) {
        // Something changed (a cancel, a disabled or deleted sender): read the subscription and check again,
        // and the pending rows afresh.
        sub = await deps.storage.subscriptions.getById(subscriptionId);
        checked = false;
        ahead.length = 0;
        continue;
      }
      // The lease is renewed once half of it is used, not per notification (a write saved on each send), and
      // every quarter of it while a send is on the wire (a slow receiver, a long outbound timeout: a send may take
      // three DCI_OUTBOUND_TIMEOUT_MS). One lost all the same (a renewal refused) lets another instance's lane take
      // the subscription over: then this lane stops, sending nothing more out of its turn.
      if (leaseUntil - deps.clock.now() < leaseMs / 2 && !await renewLease()) {
        deps.log.warn("notification lane lost its lease to another; it stops", { subscription: sub.code });
        lost = true;
        break;
      }
      const started = performance.now();
      const now = iso(deps.clock.now());
      const rows = cronExpression(sub.frequency)
        ? await notifications.batchOf(n, {
          now,
          max: deps.config.notifyBatchMax,
          maxBytes: deps.config.notifyBatchBytes,
        })
        : [n];
      // A batch takes rows that may be among those read ahead: read afresh after it.
      if (rows.length > 1) ahead.length = 0;
      let kept = Promise.resolve(true);
      const keeper = setInterval(() => {
        kept = kept.then((ok) => ok && renewLease().catch(() => true)); // a failed write: tried at the next tick
      }, leaseMs / 4);
      let outcome;
      try {
        outcome = await sendNotification(deps, sub, rows, {
          hold: () => notificationHold(deps, subscriptionId, n.id),
          // Checked just above, in this same turn: the subscription is active, its sender too, the row pending.
          checkedNow: true,
          subscribeUri: subscribeUri(sub),
          event: rows.length === 1 ? head.event : undefined,
          sender: check.sender,
        });
      } finally {
        clearInterval(keeper);
      }
      if (!await kept) {
        // Taken over while on the wire: the outcome is the other lane's to record (it sends the row again).
        deps.log.warn("notification lane lost its lease during a send; it stops", { subscription: sub.code });
        lost = true;
        break;
      }
      // Held right before sending (its sender was disabled or deleted, or no outbound slot came free in time):
      // no attempt made, the lane stops; the row is still due, so the next pass sends it first.
      if (!outcome.ok && outcome.held) break;
      deps.metrics.observe(
        "dci_notification_seconds",
        "Notification delivery attempt latency",
        {},
        (performance.now() - started) / 1000,
      );
      const at = iso(deps.clock.now());
      if (outcome.ok) {
        const marked = await markSentGrouped(deps, rows, at);
        // Unmarked, the rows are still the oldest pending: a later pass sends them again first, never after
        // the rows read ahead here.
        if (marked === undefined) break;
        sent += marked;
        if (sub.consecutive_failures > 0) {
          await lanes.clearFailures(subscriptionId);
          sub = { ...sub, consecutive_failures: 0, last_error: null };
        }
        count("sent");
        continue;
      }
      if (outcome.receiverCode) countRejection(deps, "notification", outcome.receiverCode);
      const wait = outcome.permanent ? null : delay(n.attempts + 1);
      if (wait !== null) {
        await notifications.markBatch(
          rows,
          { kind: "retry", failure: outcome, nextAt: iso(deps.clock.now() + wait) },
          at,
        );
        count("retry");
        break;
      }
      await notifications.markBatch(rows, { kind: "failed", failure: outcome }, at);
      count("failed");
      deps.log.warn("notification failed", {
        subscription: sub.code,
        notification_id: n.notification_id,
        error: outcome.error,
      });
      if (await recordFailure(deps, sub, outcome.error, at)) break;
      sub = await deps.storage.subscriptions.getById(subscriptionId);
      checked = false;
    }
  } finally {
    if (!deps.storage.closed && !lost) await lanes.release(subscriptionId, held);
  }
  return sent;

  function count(outcome: string): void {
    deps.metrics.inc("dci_notifications_total", "Notification attempts by outcome (sent, retry, failed)", {
      outcome,
    });
  }
}

/** Counts a finally failed notification; at the limit the subscription moves to error. True when it did. */
async function recordFailure(deps: Deps, sub: SubscriptionRow, error: string, now: string): Promise<boolean> {
  const state = await deps.storage.lanes.recordFailure(
    sub.id,
    error,
    now,
    deps.config.subscriptionFailureLimit,
  );
  if (state === "error") {
    deps.log.warn("subscription moved to error after consecutive failures", {
      subscription: sub.code,
      sender_id: sub.sender_id,
      failures: deps.config.subscriptionFailureLimit,
    });
    return true;
  }
  return false;
}
