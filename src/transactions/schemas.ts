/**
 * Request messages of the async endpoints, validated loosely at accept (accept loosely, send strictly):
 * the shape the worker relies on; item-level checks are the processors' (per-item rjct).
 */
import { z } from "@hono/zod-openapi";
import { envelopeOf, HeaderId, Id99 } from "../dci/schemas.ts";
import { MAX_CODE, MAX_TIMESTAMP } from "../dci/limits.ts";

/** Items are checked by the processors (a bad item is a per-item rjct, not a refused request). */
const Item = z.unknown();

/** Async search message: `{transaction_id, search_request: [{reference_id, timestamp, search_criteria}]}`. */
export const AsyncSearchMessage = z.looseObject({
  transaction_id: HeaderId,
  search_request: z.array(Item).min(1),
}).openapi("AsyncSearchRequest");

/** Subscribe message: `{transaction_id, subscribe_request: [{reference_id, timestamp, subscribe_criteria}]}`. */
export const SubscribeMessage = z.looseObject({
  transaction_id: HeaderId,
  subscribe_request: z.array(Item).min(1),
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
    locale: z.string().max(MAX_CODE).optional(),
  }),
}).openapi("TxnStatusRequest");

/** The parsed txn status message. */
export type TxnStatusMessage = z.output<typeof TxnStatusMessage>;

/** Envelopes per endpoint. */
export const AsyncSearchEnvelope = envelopeOf(AsyncSearchMessage, "AsyncSearchEnvelope");
/** Subscribe request envelope. */
export const SubscribeEnvelope = envelopeOf(SubscribeMessage, "SubscribeEnvelope");
/** Unsubscribe request envelope. */
export const UnsubscribeEnvelope = envelopeOf(UnsubscribeMessage, "UnsubscribeEnvelope");
/** Txn status request envelope. */
export const TxnStatusEnvelope = envelopeOf(TxnStatusMessage, "TxnStatusEnvelope");

/** The list in each action's message whose items carry reference_ids. */
export const ITEM_LISTS: Readonly<Record<string, string | undefined>> = {
  search: "search_request",
  subscribe: "subscribe_request",
};

/** The list in each action's callback message holding per-item results. */
export const RESPONSE_LISTS: Readonly<Record<string, string | undefined>> = {
  search: "search_response",
  subscribe: "subscribe_response",
};
