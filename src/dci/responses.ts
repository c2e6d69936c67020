/**
 * The messages this server answers (sync responses and callbacks), in zod, as the spec yamls shape them: the one
 * description that the OpenAPI document shows and the action table (src/dci/actions.ts) names. Answers are sent
 * strictly: every field here is one the spec defines, with its enum, plus the few this server adds, marked.
 */
import { z } from "@hono/zod-openapi";
import { DateTime, RequestStatus } from "./schemas.ts";
import { SearchResponse } from "./search.ts";
import { MAX_ID } from "./limits.ts";
import { SubscribeFilter } from "./messages.ts";

/** An id of at most 99 characters, as answers carry them (transaction_id, correlation_id, reference_id). */
const AnswerId = z.string().max(MAX_ID);

/** A status reason message (≤ 999 characters). */
const ReasonMessage = z.string().max(999);

/** SubscribeStatusReasonCode: the item codes of a subscribe answer. */
export const SubscribeStatusReasonCode = z.enum([
  "rjct.reference_id.invalid",
  "rjct.reference_id.duplicate",
  "rjct.timestamp.invalid",
  "rjct.notify_types.invalid",
  "rjct.notify_details.invalid",
  "rjct.person_id.invalid",
  "rjct.event.already_subscribed",
]).openapi("SubscribeStatusReasonCode");

/** UnSubscribeStatusReasonCode: the codes of an unsubscribe answer. */
export const UnSubscribeStatusReasonCode = z.enum([
  "rjct.reference_id.invalid",
  "rjct.reference_id.duplicate",
  "rjct.timestamp.invalid",
  "rjct.subscription_code.invalid",
  "rjct.requester.invalid",
  "rjct.event.already_unsubscribed",
]).openapi("UnSubscribeStatusReasonCode");

/** SubscriptionStatus. */
export const SubscriptionStatus = z.enum(["subscribe", "unsubscribe"]).openapi("SubscriptionStatus");

/** SubscriptionInfo: one subscription as answered (subscribe, txn status by subscription code). */
export const SubscriptionInfo = z.object({
  version: z.string(),
  code: AnswerId,
  status: SubscriptionStatus,
  timestamp: DateTime,
  reg_type: z.string().optional(),
  reg_event_type: z.string(),
  frequency: z.object({ start_time: DateTime, end_time: DateTime, frequency: z.string() }).optional(),
  filter_type: z.enum(["idtype-value", "expression", "predicate", "graphql"]).optional(),
  // As it was sent: an object query, a predicate list, or a CEL expression's text.
  filter: z.union([SubscribeFilter, z.string()]).optional().openapi({
    description: "The subscription's filter",
  }),
  notify_record_type: z.string(),
  locale: z.string().optional(),
}).openapi("SubscriptionInfo");

/** One answered subscribe item. */
export const SubscribeResponseItem = z.object({
  reference_id: AnswerId,
  timestamp: DateTime,
  status: RequestStatus,
  status_reason_code: SubscribeStatusReasonCode.optional(),
  status_reason_message: ReasonMessage.optional(),
  subscriptions: z.array(SubscriptionInfo).optional(),
  locale: z.string().optional(),
}).openapi("SubscribeResponseItem");

/** SubscribeResponse: the on-subscribe message. */
export const SubscribeResponse = z.object({
  transaction_id: AnswerId,
  correlation_id: AnswerId,
  subscribe_response: z.array(SubscribeResponseItem),
}).openapi("SubscribeResponse");

/** UnSubscribeResponse: the on-unsubscribe message (per code, `subscription_status`; its codes are ours, marked). */
export const UnSubscribeResponse = z.object({
  transaction_id: AnswerId,
  correlation_id: AnswerId,
  timestamp: DateTime,
  status: RequestStatus,
  status_reason_code: UnSubscribeStatusReasonCode.optional(),
  status_reason_message: ReasonMessage.optional(),
  subscription_status: z.array(z.object({
    code: AnswerId,
    status: SubscriptionStatus,
    status_reason_code: UnSubscribeStatusReasonCode.optional().openapi({
      description: "This server's addition: why this code was not unsubscribed",
    }),
    status_reason_message: ReasonMessage.optional(),
  })).optional(),
}).openapi("UnSubscribeResponse");

/** The receipt answer item: what was acknowledged and its status (this server's receipt, after OpenSPP's). */
export const ReceiptResponseItem = z.object({
  notification_id: AnswerId.optional(),
  subscription_code: AnswerId.optional(),
  // succ or rjct once processed; a txn status of a receipt not processed yet answers rcvd or pdng.
  status: RequestStatus,
  status_reason_code: z.enum(["rjct.reference_id.invalid"]).optional(),
  status_reason_message: ReasonMessage.optional(),
  timestamp: DateTime,
}).openapi("ReceiptResponseItem");

/** The on-receipt message: the spec's ReceiptResponse `receipt_information`, and the item answering it. */
export const ReceiptResponse = z.object({
  transaction_id: AnswerId,
  correlation_id: AnswerId,
  receipt_information: z.object({
    receipt_type: z.string().optional(),
    notification_id: AnswerId.optional(),
    subscription_code: AnswerId.optional(),
  }),
  receipt_response: ReceiptResponseItem,
}).openapi("ReceiptResponse");

/**
 * The transaction status of one looked-up transaction, in the shape of its answer: a search response, a subscribe
 * response, an unsubscribe response, a receipt, or (still open, no item list) its status.
 */
export const TxnStatusOf = z.union([
  SearchResponse,
  SubscribeResponse,
  UnSubscribeResponse,
  ReceiptResponse,
  z.object({
    transaction_id: AnswerId,
    correlation_id: AnswerId,
    timestamp: DateTime,
    status: RequestStatus,
  }),
]).openapi("TxnStatusOf");

/** TxnStatusResponse: the txn-on-status message. */
export const TxnStatusResponse = z.object({
  transaction_id: AnswerId,
  correlation_id: AnswerId,
  txnstatus_response: z.object({
    // unsubscribe: crvs and fr (their yaml's txn_type; src/registries/profile.ts txnTypes).
    txn_type: z.enum(["search", "subscribe", "unsubscribe", "receipt"]).openapi({
      description:
        "One of the registry's own spec's values: search and subscribe everywhere, unsubscribe on crvs " +
        "and fr, receipt on social and ibr",
    }),
    txn_status: TxnStatusOf,
  }),
}).openapi("TxnStatusResponse");
