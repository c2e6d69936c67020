/** The DCI envelope, headers, ACK and error in zod, shared by validation and the OpenAPI document. */
import { z } from "@hono/zod-openapi";
import { ERR_CODES } from "./errors.ts";

/** ISO 8601 date-time with a zone (Z or ±hh:mm). */
export const DateTime = z.string().regex(
  /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/,
  "expected an ISO 8601 date-time with a zone",
).openapi({ example: "2026-01-01T00:00:00.000Z" });

/** Identifiers the spec limits to 99 characters. */
export const Id99 = z.string().min(1).max(99);

/** The DCI request message header. Unknown fields are kept, never an error. */
export const RequestHeader = z.looseObject({
  version: z.string().default("1.0.0").openapi({ example: "1.0.0" }),
  message_id: Id99.openapi({ example: "msg-0001" }),
  message_ts: DateTime,
  action: z.string().min(1).openapi({ example: "search" }),
  sender_id: z.string().min(1).max(99).openapi({ example: "spmis.example.org" }),
  sender_uri: z.string().max(2048).optional().openapi({ example: "https://spmis.example.org/callback" }),
  receiver_id: z.string().max(99).optional(),
  total_count: z.number().int().min(0),
  is_msg_encrypted: z.boolean().optional(),
  meta: z.unknown().optional(),
}).openapi("MsgHeader");

/** Request header as parsed. */
export type RequestHeader = z.output<typeof RequestHeader>;

/** Callback actions this server sends. */
export const CALLBACK_ACTIONS = [
  "on-search",
  "on-subscribe",
  "on-unsubscribe",
  "txn-on-status",
  "on-receipt",
  "notify",
] as const;

/** Request status values. */
export const RequestStatus = z.enum(["rcvd", "pdng", "succ", "rjct"]);

/** The header on sync responses, callbacks and notifications. */
export const CallbackHeader = z.object({
  version: z.string(),
  message_id: Id99,
  message_ts: DateTime,
  action: z.enum(CALLBACK_ACTIONS),
  status: RequestStatus,
  status_reason_code: z.string().optional(),
  status_reason_message: z.string().max(999).optional(),
  total_count: z.number().int().min(0),
  completed_count: z.number().int().min(0),
  sender_id: z.string(),
  receiver_id: z.string().optional(),
  is_msg_encrypted: z.boolean(),
  meta: z.unknown().optional(),
}).openapi("MsgCallbackHeader");

/** Callback header as built. */
export type CallbackHeader = z.output<typeof CallbackHeader>;

/** The envelope every request carries. `signature` may be absent when the policy allows. */
export function envelopeOf<M extends z.ZodType>(message: M, name?: string) {
  const schema = z.object({
    signature: z.string().max(8192).optional().openapi({
      description: "DCI envelope signature over {header, message}",
    }),
    header: RequestHeader,
    message,
  });
  return name ? schema.openapi(name) : schema;
}

/** A generic request envelope with any message object. */
export const RequestEnvelope = envelopeOf(z.record(z.string(), z.unknown()), "RequestEnvelope");

/** The ERR ACK error object. */
export const ErrorObject = z.object({
  code: z.enum(ERR_CODES),
  message: z.string().max(999),
}).openapi("Error");

/** ACK / NACK / ERR acknowledgement. */
export const Ack = z.object({
  message: z.object({
    ack_status: z.enum(["ACK", "NACK", "ERR"]),
    timestamp: DateTime,
    correlation_id: z.string().max(99),
    error: ErrorObject.optional(),
  }),
}).openapi("Ack");

/** ACK as built. */
export type Ack = z.output<typeof Ack>;
