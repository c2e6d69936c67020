/**
 * Request messages of the registry actions, validated loosely (accept loosely, send strictly): the shape the
 * processors rely on; item-level checks are the processors' (per-item rjct). The action table
 * (src/dci/actions.ts) names each action's request message from here.
 */
import { z } from "@hono/zod-openapi";
import { DateTime, HeaderId, Id99, ItemWithLocale, OptionalLocale } from "./schemas.ts";
import { MAX_CODE, MAX_TIMESTAMP } from "./limits.ts";

/**
 * Items are checked by the processors (a bad item is a per-item rjct, not a refused request), except their
 * locale, checked here as on every endpoint.
 */
const Item = ItemWithLocale;

/** Items validated loosely, shown in the OpenAPI document as the spec's item schema `name`. */
function items(name: string) {
  return z.array(Item).min(1).openapi({ items: { $ref: `#/components/schemas/${name}` } });
}

/**
 * SubscriptionInfo.filter as the yaml gives it (anyOf): an object query (the yaml's expression `{type, value}` and
 * idtype-value `{type, value}`) or a predicate list. For the document only: the subscribe processor reads it.
 */
export const SubscribeFilter = z.union([
  z.record(z.string(), z.unknown()).openapi({
    description:
      "An expression {type, value: {expression}}, an idtype-value {type, value}, or another object " +
      "query of filter_type",
  }),
  z.array(
    z.looseObject({
      seq_num: z.number().optional(),
      expression1: z.record(z.string(), z.unknown()).optional().openapi({
        description: "{attribute_name, operator, attribute_value}",
      }),
      condition: z.string().optional().openapi({ example: "and" }),
      expression2: z.record(z.string(), z.unknown()).optional(),
    }),
  ).openapi({ description: "Predicates (filter_type predicate), ANDed in seq_num order" }),
]).openapi({ description: "A query of filter_type: an object, or a list of predicates" });

/**
 * The spec's subscribe_request item, for the OpenAPI document (registered there; each item is checked by the
 * subscribe processor, so a bad one is answered per item, not refused).
 */
export const SubscribeRequestItem = z.object({
  reference_id: Id99,
  timestamp: DateTime,
  subscribe_criteria: z.object({
    version: z.string().optional(),
    reg_type: z.string().optional(),
    reg_event_type: z.string(),
    frequency: z.object({ start_time: DateTime, end_time: DateTime, frequency: z.string() }).partial()
      .optional(),
    filter_type: z.enum(["idtype-value", "expression", "predicate", "graphql"]).optional(),
    filter: SubscribeFilter,
    notify_record_type: z.string(),
    authorize: z.record(z.string(), z.unknown()).optional(),
  }),
  locale: OptionalLocale,
}).openapi("SubscribeRequestItem");

/** Async search message: `{transaction_id, search_request: [{reference_id, timestamp, search_criteria}]}`. */
export const AsyncSearchMessage = z.looseObject({
  transaction_id: HeaderId,
  search_request: items("SearchRequestItem"),
}).openapi("AsyncSearchRequest");

/** Subscribe message: `{transaction_id, subscribe_request: [{reference_id, timestamp, subscribe_criteria}]}`. */
export const SubscribeMessage = z.looseObject({
  transaction_id: HeaderId,
  subscribe_request: items("SubscribeRequestItem"),
}).openapi("SubscribeRequest");

/** Unsubscribe message: `{transaction_id, timestamp, subscription_codes: [...]}`. */
export const UnsubscribeMessage = z.looseObject({
  transaction_id: HeaderId,
  timestamp: z.string().max(MAX_TIMESTAMP).optional(),
  subscription_codes: z.array(Id99).min(1).max(100),
}).openapi("UnSubscribeRequest");

/**
 * Txn status message: look a transaction up by transaction_id, correlation_id or reference_id_list (reference ids
 * or the request's header.message_id; OpenSPP's client names it `reference_id`), or subscriptions by
 * subscription_code_list.
 */
export const TxnStatusMessage = z.looseObject({
  transaction_id: HeaderId,
  txnstatus_request: z.looseObject({
    reference_id: z.string().max(99).optional(),
    txn_type: z.string().max(30).optional(),
    attribute_type: z.enum([
      "transaction_id",
      "correlation_id",
      "reference_id_list",
      "subscription_code_list",
      "reference_id",
    ]),
    attribute_value: z.union([Id99, z.array(Id99).min(1).max(100)]),
    locale: OptionalLocale,
    // Not in the spec's TxnStatusRequest; when a client sends one it needs a zone, as every DCI timestamp.
    timestamp: DateTime.optional(),
  }),
}).openapi("TxnStatusRequest");

/** The parsed txn status message. */
export type TxnStatusMessage = z.output<typeof TxnStatusMessage>;

/** The most beneficiaries a receipt_information may list (they are accepted and not used). */
const MAX_BENEFICIARIES = 1000;

/**
 * OpenSPP's receipt shape: the spec's ReceiptInformation (`receipt_type`, `beneficiaries`) plus the ids naming what
 * was received. `beneficiaries` are accepted (bounded) and not used: the receipt acknowledges a notification.
 */
const ReceiptInformation = z.looseObject({
  receipt_type: z.string().max(MAX_CODE).optional(),
  notification_id: Id99.optional(),
  subscription_code: Id99.optional(),
  beneficiaries: z.array(z.unknown()).max(MAX_BENEFICIARIES).optional(),
});

/** The parsed receipt message. */
export interface ReceiptMessageShape {
  transaction_id: string;
  notification_id?: string;
  receipt?: { notification_id?: string; message_id?: string };
  receipt_information?: { receipt_type?: string; notification_id?: string; subscription_code?: string };
}

/** What a receipt names: a notification (optionally within a subscription), or a subscription's latest one. */
export type ReceiptTargetOf =
  | { notificationId: string; subscriptionCode?: string }
  | { notificationId?: undefined; subscriptionCode: string };

/** The notification or subscription a receipt message names, or undefined when it names none. */
export function receiptTarget(m: ReceiptMessageShape): ReceiptTargetOf | undefined {
  const info = m.receipt_information;
  const id = m.notification_id ?? m.receipt?.notification_id ?? m.receipt?.message_id ??
    info?.notification_id;
  const code = info?.subscription_code;
  if (id !== undefined) return { notificationId: id, subscriptionCode: code };
  return code === undefined ? undefined : { subscriptionCode: code };
}

/**
 * Receipt message: the notification id (X-DCI-Notification-ID) or the notify envelope's message_id, as
 * `notification_id`, `receipt.notification_id|message_id` or `receipt_information.notification_id`; or only
 * `receipt_information.subscription_code` (that subscription's latest delivered notification).
 */
export const ReceiptMessage = z.looseObject({
  transaction_id: HeaderId,
  notification_id: Id99.optional(),
  receipt: z.looseObject({ notification_id: Id99.optional(), message_id: Id99.optional() }).optional(),
  receipt_information: ReceiptInformation.optional(),
  // A timestamp or locale a client sends follows the rules of every DCI message: a zone, three letters.
  timestamp: DateTime.optional(),
  locale: OptionalLocale,
}).superRefine((m, ctx) => {
  if (receiptTarget(m) !== undefined) return;
  ctx.addIssue({
    code: "custom",
    message: m.receipt_information
      ? "receipt_information.notification_id or receipt_information.subscription_code is required"
      : "message.notification_id (or receipt.notification_id / receipt.message_id, or receipt_information " +
        "with notification_id or subscription_code) is required",
    path: m.receipt_information ? ["receipt_information", "notification_id"] : ["notification_id"],
  });
}).openapi("ReceiptRequest", {
  description: "Names the notification acknowledged: notification_id, receipt.notification_id or " +
    "receipt.message_id, or receipt_information with notification_id or subscription_code (that subscription's " +
    "latest delivered notification); a message naming none is refused (400 err.request.bad)",
});
