/**
 * The subscribe and unsubscribe processors the transaction worker runs. Both are idempotent per transaction:
 * a re-run finds the subscription its first run made (correlation_id + reference_id) or cancelled
 * (cancelled_by), and answers the same.
 */
import type { Deps } from "../deps.ts";
import type { ProcessInput, ProcessResult } from "../dci/processor.ts";
import { isoNow } from "../clock.ts";
import { getSender, senderSince } from "../senders/store.ts";
import { eventTypeName, localeOf, notifyUrl, SubscribeRejection } from "./rules.ts";
import { checkCriteria, checkNotifyUrl } from "./criteria.ts";
import type { SubscriptionRow } from "./store.ts";
import { settleEnded } from "./expiry.ts";
import { isZonedTimestamp } from "../dci/schemas.ts";
import { HEADER_SAFE_ID_RULE, isHeaderSafeId, MAX_ID } from "../dci/limits.ts";
import { cronExpression } from "./frequency.ts";

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The `frequency` of a SubscriptionInfo, built from the stored, normalised values (not echoed as sent): the spec
 * requires all three members, times as date-times. `start_time` is the one given, else when the subscription
 * started (its events are those after its activation). Undefined (left out: it is optional) without a cron or
 * an end time, which a sender may leave out of what it sends.
 */
function frequencyInfo(row: SubscriptionRow): Json | undefined {
  const cron = cronExpression(row.frequency);
  if (!cron || !row.end_time) return undefined;
  return {
    start_time: row.start_time ?? row.activated_at ?? row.created_at,
    end_time: row.end_time,
    frequency: cron,
  };
}

/** The SubscriptionInfo of a stored subscription, as the spec shapes it. */
export function subscriptionInfo(row: SubscriptionRow): Json {
  const frequency = frequencyInfo(row);
  return {
    version: "1.0.0",
    code: row.code,
    status: row.state === "pending" || row.state === "active" || row.state === "error"
      ? "subscribe"
      : "unsubscribe",
    timestamp: row.created_at,
    ...(row.reg_type ? { reg_type: row.reg_type } : {}),
    reg_event_type: eventTypeName(row.reg_event_type),
    ...(frequency ? { frequency } : {}),
    ...(row.filter_type ? { filter_type: row.filter_type } : {}),
    ...(row.filter ? { filter: JSON.parse(row.filter) } : {}),
    notify_record_type: row.notify_record_type,
    ...(localeOf(row.locale) ? { locale: localeOf(row.locale) } : {}),
  };
}

/** Validates one subscribe_request item and stores its subscription; returns the response item. */
async function subscribeItem(
  deps: Deps,
  input: ProcessInput,
  item: Json,
  autoApprove: boolean,
  notifyUrl: () => Promise<string>,
) {
  const reference = String(item.reference_id);
  const now = isoNow(deps.clock);
  // A re-run (a storage fault, a crash, an attempt over its time budget) answers what an earlier run stored,
  // before any check: a check that fails now (the URL no longer resolves, end_time has passed) would answer
  // rjct for a subscription that is live and notified, whose code the sender would then never learn.
  const earlier = await deps.storage.subscriptions.byRequest(input.correlationId, reference);
  if (earlier) return subscribedItem(reference, now, earlier);
  const criteria = checkCriteria(item.subscribe_criteria, input.registry, now);
  const url = await notifyUrl();
  const outcome = await deps.storage.subscriptions.insert({
    ...criteria,
    sender_id: input.senderId,
    registry: input.registry,
    callback_url: url,
    correlation_id: input.correlationId,
    reference_id: reference,
    locale: localeOf(item.locale) ?? null,
    active: autoApprove,
    now,
  }, deps.config.subscriptionLimit);
  if (outcome.kind === "duplicate") {
    throw new SubscribeRejection(
      "rjct.event.already_subscribed",
      "The sender already has a live subscription with the same event, record type, filter, frequency, " +
        "start_time and end_time",
    );
  }
  if (outcome.kind === "no_sender") {
    throw new SubscribeRejection(
      "rjct.notify_details.invalid",
      `Sender "${input.senderId}" was deleted while this request was processed`,
    );
  }
  if (outcome.kind !== "created" && outcome.kind !== "existing") {
    throw new SubscribeRejection(
      "rjct.notify_details.invalid",
      `Sender "${input.senderId}" already holds the limit of ${deps.config.subscriptionLimit} subscriptions`,
    );
  }
  if (outcome.kind === "created") {
    deps.log.info("subscription created", {
      sender_id: input.senderId,
      subscription: outcome.row.code,
      state: outcome.row.state,
    });
  }
  return subscribedItem(reference, now, outcome.row);
}

/** The answer item of a stored subscription. */
function subscribedItem(reference: string, now: string, row: SubscriptionRow) {
  return {
    reference_id: reference,
    timestamp: now,
    status: row.state === "pending" ? "pdng" : "succ",
    ...(row.state === "pending"
      ? { status_reason_message: "The subscription waits for an operator's approval" }
      : {}),
    subscriptions: [subscriptionInfo(row)],
  };
}

/** The subscribe processor: each subscribe_request item answered with its own status and code. */
export async function subscribeProcessor(deps: Deps, input: ProcessInput): Promise<ProcessResult> {
  const items = Array.isArray(input.message.subscribe_request)
    ? input.message.subscribe_request as unknown[]
    : [];
  const sender = await getSender(deps, input.senderId);
  const base = sender?.callback_base_url ?? input.header.sender_uri;
  const seen = new Set<string>();
  const response: Json[] = [];
  // Every item notifies the same URL: vetted once (a DNS lookup, up to the outbound timeout) when an item
  // first needs it, its refusal answering each item that needs it.
  let vetted: Promise<string> | undefined;
  const url = () =>
    vetted ??= checkNotifyUrl(deps, notifyUrl(base, sender?.callback_url_mode), {
      senderId: input.senderId,
      missing:
        "No notification URL: header.sender_uri (or the sender's callback URL) must be an absolute http(s) URL",
    });
  for (const raw of items) {
    const item = isObject(raw) ? raw : {};
    const ref = typeof item.reference_id === "string" ? item.reference_id : "";
    const reject = (code: string, message: string) =>
      response.push({
        reference_id: ref.slice(0, MAX_ID),
        timestamp: isoNow(deps.clock),
        status: "rjct",
        status_reason_code: code,
        status_reason_message: message,
      });
    if (!isHeaderSafeId(ref)) {
      reject("rjct.reference_id.invalid", `reference_id ${HEADER_SAFE_ID_RULE}`);
      continue;
    }
    if (seen.has(ref)) {
      reject(
        "rjct.reference_id.duplicate",
        `reference_id ${JSON.stringify(ref)} appears twice in this request`,
      );
      continue;
    }
    seen.add(ref);
    if (item.timestamp !== undefined && !isZonedTimestamp(item.timestamp)) {
      reject("rjct.timestamp.invalid", `timestamp ${shown(item.timestamp)} is not ISO 8601 with a zone`);
      continue;
    }
    try {
      response.push(
        await subscribeItem(deps, input, item, sender?.auto_approve_subscriptions ?? false, url),
      );
    } catch (err) {
      if (!(err instanceof SubscribeRejection)) throw err;
      reject(err.code, err.message);
    }
  }
  return {
    status: "succ",
    totalCount: response.length,
    completedCount: response.length,
    message: {
      transaction_id: input.transactionId,
      correlation_id: input.correlationId,
      subscribe_response: response,
    },
  };
}

/** A value in an error message: JSON, at most 60 characters. */
function shown(v: unknown): string {
  return (JSON.stringify(v) ?? String(v)).slice(0, 60);
}

/** An unsubscribe refused whole before any code is looked at (its code is in the message, as the spec puts it). */
function unsubscribeRefused(
  input: ProcessInput,
  now: string,
  count: number,
  failure: { code: string; message: string },
): ProcessResult {
  return {
    status: "rjct",
    reasonMessage: failure.message,
    totalCount: count,
    completedCount: count,
    message: {
      transaction_id: input.transactionId,
      correlation_id: input.correlationId,
      timestamp: now,
      status: "rjct",
      status_reason_code: failure.code,
      status_reason_message: failure.message,
    },
  };
}

/** The unsubscribe processor: only the caller's own codes; `subscription_status` for each code. */
export async function unsubscribeProcessor(deps: Deps, input: ProcessInput): Promise<ProcessResult> {
  const codes = Array.isArray(input.message.subscription_codes)
    ? input.message.subscription_codes as unknown[]
    : [];
  const now = isoNow(deps.clock);
  const stamp = input.message.timestamp;
  if (stamp !== undefined && !isZonedTimestamp(stamp)) {
    return unsubscribeRefused(input, now, codes.length, {
      code: "rjct.timestamp.invalid",
      message: `timestamp ${shown(stamp)} is not ISO 8601 with a zone`,
    });
  }
  // A subscription of a sender deleted and registered again under this id is not this sender's (deleting it
  // cancelled them all): answered as unknown, as txn/status answers it.
  const since = codes.length ? await senderSince(deps, input.senderId) : "";
  const statuses: Json[] = [];
  let done = 0;
  let firstFailure: { code: string; message: string } | undefined;
  for (const raw of codes) {
    const code = typeof raw === "string" ? raw.slice(0, 99) : String(raw).slice(0, 99);
    const fail = (reason: string, message: string) => {
      firstFailure ??= { code: reason, message };
      statuses.push({
        code,
        status: "unsubscribe",
        status_reason_code: reason,
        status_reason_message: message,
      });
    };
    const sub = await deps.storage.subscriptions.get(code);
    // Another sender's code is answered exactly as an unknown one: the answer must not tell which codes exist.
    // Another registry's is not this registry's to cancel (txn/status there does not know it either).
    if (
      !sub || sub.sender_id !== input.senderId || sub.registry !== input.registry || sub.created_at < since
    ) {
      fail("rjct.subscription_code.invalid", `No subscription ${JSON.stringify(code)}`);
      continue;
    }
    const ended = await deps.storage.subscriptions.end(sub.id, "cancelled", now, input.correlationId);
    if (ended || sub.cancelled_by === input.correlationId) {
      done++;
      statuses.push({ code, status: "unsubscribe" });
      if (ended) {
        deps.log.info("subscription cancelled", { sender_id: input.senderId, subscription: code });
        // Its waiting notifications fail now (a long backlog in the background; the sweep finishes what a stop leaves).
        await settleEnded(deps, { ids: [sub.id] });
      }
      continue;
    }
    fail("rjct.event.already_unsubscribed", `Subscription ${JSON.stringify(code)} is already ${sub.state}`);
  }
  const ok = done > 0 || codes.length === 0;
  // The rjct.* codes of unsubscribe belong in the message (UnSubscribeStatusReasonCode); the callback header's
  // status_reason_code only takes the header-level codes, so the header carries the status and message alone.
  // A code that failed is listed with the spec's only statuses (subscribe|unsubscribe) and a reason of this
  // server's: the message's own reason (a spec field) also says that some failed, so a partner reading the spec's
  // fields alone does not take a mistyped code for unsubscribed.
  const partly = ok && firstFailure
    ? {
      status_reason_code: firstFailure.code,
      status_reason_message: `${codes.length - done} of ${codes.length} codes were not unsubscribed ` +
        `(see each code's status_reason_code); the first: ${firstFailure.message}`,
    }
    : {};
  return Promise.resolve({
    status: ok ? "succ" : "rjct",
    ...(ok ? {} : { reasonMessage: firstFailure?.message }),
    totalCount: codes.length,
    completedCount: codes.length,
    message: {
      transaction_id: input.transactionId,
      correlation_id: input.correlationId,
      timestamp: now,
      status: ok ? "succ" : "rjct",
      ...(ok || !firstFailure
        ? partly
        : { status_reason_code: firstFailure.code, status_reason_message: firstFailure.message }),
      subscription_status: statuses,
    },
  });
}
