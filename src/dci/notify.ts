/**
 * The `notify` message (the spec's NotifyEventRequest) a subscriber receives for each change event: the contract
 * the OpenAPI document shows for the notify webhook and callback (src/subscriptions/delivery.ts builds it).
 */
import { z } from "@hono/zod-openapi";
import { DateTime } from "./schemas.ts";
import { MAX_ID } from "./limits.ts";

/** One notify_event: the changed record of one subscription. */
export const NotifyEvent = z.object({
  reference_id: z.string().max(MAX_ID),
  timestamp: DateTime,
  subscription_code: z.string().max(MAX_ID).openapi({ description: "The subscription this event matched" }),
  data: z.object({
    version: z.string().openapi({ example: "1.0.0" }),
    reg_type: z.string().openapi({ example: "ns:org:RegistryType:Social" }),
    reg_event_type: z.string().openapi({ description: "The subscribed event type (reg_event_type)" }),
    reg_record_type: z.string().openapi({ example: "SRPerson" }),
    reg_records: z.record(z.string(), z.unknown()).openapi({
      description: "The record after the change (a delete sends its identifiers only), as search answers " +
        "shape records of its type",
    }),
  }).catchall(z.unknown()).openapi({
    description: "Deployments may add fields (src/extensions.ts notifyFields); the spec's fields win",
  }),
  locale: z.string().optional(),
}).openapi("NotifyEvent");

/** NotifyEventRequest: the message of a notify envelope. */
export const NotifyEventRequest = z.object({
  transaction_id: z.string().max(MAX_ID).openapi({
    description: "The notification id (same on every retry)",
  }),
  notify_event: z.array(NotifyEvent),
}).openapi("NotifyEventRequest");
