/** The DCI envelope, headers, ACK and error in zod, shared by validation and the OpenAPI document. */
import { z } from "@hono/zod-openapi";
import { ERR_CODES, HEADER_RJCT_CODES } from "./errors.ts";
import {
  HEADER_SAFE_ID_RULE,
  isHeaderSafeId,
  MAX_CODE,
  MAX_ID,
  MAX_SENDER_ID,
  MAX_TIMESTAMP,
  MAX_URL,
} from "./limits.ts";

/**
 * ISO 8601 date-time with a zone (Z or ±hh:mm). RFC 3339, which OpenAPI's `format: date-time` names, allows a
 * lowercase `t` and `z` and a space for the `T`: so does this. Anchored, and each part is followed by a
 * character its quantifier cannot take, so it runs in linear time whatever the input.
 */
export const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:?\d{2})$/;

/**
 * Whether the `YYYY-MM-DD` a DATE_TIME match starts with is a day of the calendar: `Date.parse` reads
 * `2026-02-30T00:00:00Z` as 2 March, so a time window or an item timestamp would move without a word.
 */
function calendarDay(value: string): boolean {
  const month = Number(value.slice(5, 7)), day = Number(value.slice(8, 10));
  return month >= 1 && month <= 12 &&
    new Date(Date.UTC(Number(value.slice(0, 4)), month - 1, day)).getUTCDate() === day;
}

/** ISO 8601 date-time with a zone (Z or ±hh:mm); the pattern runs only on strings of at most 64 characters. */
export const DateTime = z.string().max(MAX_TIMESTAMP, { abort: true }).regex(
  DATE_TIME,
  "expected an ISO 8601 date-time with a zone",
)
  // A time of the clock too: hour 25, second 60 or an offset of +99:00 would pass the pattern, then fail every
  // `new Date(…).toISOString()` that reads it (an admin list's `since` answered 500).
  .refine(
    (v) => !DATE_TIME.test(v) || (calendarDay(v) && !Number.isNaN(Date.parse(v))),
    "expected a real date and time (a day of its month, a time of the day)",
  )
  .openapi({ example: "2026-01-01T00:00:00.000Z" });

/**
 * True for an ISO 8601 date-time with a zone that parses (at most MAX_TIMESTAMP characters) and names a day of the
 * calendar (calendarDay).
 */
export function isZonedTimestamp(value: unknown): value is string {
  return typeof value === "string" && value.length <= MAX_TIMESTAMP && DATE_TIME.test(value) &&
    calendarDay(value) && !Number.isNaN(Date.parse(value));
}

/** The spec's locale rule (SubscriptionInfo.locale: ISO 639-3, `^[a-z]{3}$`), as error messages state it. */
export const LOCALE_RULE = 'must be three lowercase letters (ISO 639-3, ^[a-z]{3}$), e.g. "eng"';

const LOCALE = /^[a-z]{3}$/;

/** A locale as the spec writes it: three lowercase letters. */
export const Locale = z.string().max(MAX_TIMESTAMP, { abort: true }).regex(LOCALE, LOCALE_RULE)
  .openapi({ pattern: "^[a-z]{3}$", example: "eng" });

/** An absent locale as clients send it: not at all, `null`, or `""` (as 11 of the spec's 28 sample requests do). */
function noLocale(v: unknown): boolean {
  return v === undefined || v === null || v === "";
}

/** An optional locale; `null` and `""` read as absent (and are documented so). */
export const OptionalLocale = z.preprocess((v) => noLocale(v) ? undefined : v, Locale.optional()).openapi({
  type: ["string", "null"],
  pattern: "^([a-z]{3})?$",
  example: "eng",
  description: 'ISO 639-3, three lowercase letters; "" or null reads as absent',
});

/**
 * A request item checked only for its locale, when it has one (the processors answer everything else per item):
 * an invalid locale fails the request with err.request.bad naming `…locale`, on every endpoint alike; `null` and
 * `""` read as absent.
 */
export const ItemWithLocale = z.unknown().superRefine((item, ctx) => {
  const locale = (item as { locale?: unknown } | null)?.locale;
  if (typeof item !== "object" || item === null || noLocale(locale)) return;
  if (typeof locale !== "string" || !LOCALE.test(locale)) {
    ctx.addIssue({ code: "custom", path: ["locale"], message: LOCALE_RULE, input: locale });
  }
});

/** Identifiers the spec limits to 99 characters (looked up, never sent in a header: any characters). */
export const Id99 = z.string().min(1).max(MAX_ID);

/**
 * Ids that end up in HTTP headers (transaction_id in `X-DCI-Transaction-ID`) or key the replay guard (message_id):
 * 1 to 99 printable ASCII characters without spaces.
 */
export const HeaderId = z.string().max(MAX_ID, { abort: true }).refine(isHeaderSafeId, {
  error: HEADER_SAFE_ID_RULE,
}).openapi({ pattern: "^[\\x21-\\x7e]{1,99}$" });

/**
 * An optional header field that may come as `null`: Pydantic model dumps write every unset field so
 * (`sender_uri: null`). Null reads as absent, so the field's default (if any) applies.
 */
export function nullAsAbsent<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => v === null ? undefined : v, schema);
}

/** A whole number sent as digits in a string (`"total_count": "1"`, as the spec's own sample requests do) as that number. */
export function digitsAsNumber<T extends z.ZodType>(schema: T) {
  return z.preprocess((v) => typeof v === "string" && /^[0-9]{1,9}$/.test(v) ? Number(v) : v, schema);
}

/**
 * The DCI request message header. Unknown fields are kept, never an error; the optional ones sent as null are
 * absent. Sender ids are any printable ASCII up to 255 characters (domains and URLs); the sender registry holds
 * the exact syntax, and the auth chain has already matched this one against the token's sender.
 */
export const RequestHeader = z.looseObject({
  version: nullAsAbsent(z.string().max(MAX_CODE).default("1.0.0")).openapi({ example: "1.0.0" }),
  message_id: HeaderId.openapi({ example: "msg-0001" }),
  message_ts: DateTime,
  action: z.string().min(1).max(MAX_CODE).openapi({ example: "search" }),
  sender_id: z.string().min(1).max(MAX_SENDER_ID).openapi({ example: "spmis.example.org" }),
  sender_uri: nullAsAbsent(z.string().max(MAX_URL).optional()).openapi({
    example: "https://spmis.example.org/callback",
  }),
  receiver_id: nullAsAbsent(z.string().max(MAX_SENDER_ID).optional()),
  total_count: digitsAsNumber(z.number().int().min(0)),
  is_msg_encrypted: nullAsAbsent(z.boolean().optional()),
  meta: nullAsAbsent(z.unknown().optional()),
}).openapi("MsgHeader");

/**
 * What the auth chain checks of a body before it verifies the signature and records the message in the replay
 * guard: the ids and timestamp it stores or parses are within their caps (the full schema runs after auth).
 */
export const AdmissionHeader = z.looseObject({
  header: z.looseObject({
    message_id: HeaderId.optional(),
    message_ts: z.string().max(MAX_TIMESTAMP).optional(),
  }),
});

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
  status_reason_code: z.enum(HEADER_RJCT_CODES).openapi("MsgHeaderStatusReasonCode").optional(),
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

/** The envelope signature's format (src/auth/envelope_signature.ts), as the document describes it. */
export const ENVELOPE_SIGNATURE_FORMAT = "a DCI signature string, not a JWS: " +
  '`namespace="dci", kidId="{sender_id}|{key id}|{ed25519 or rsa-sha256}", algorithm="…", created="C", ' +
  'expires="E", headers="(created) (expires) digest", signature="base64"`, where C and E are Unix seconds ' +
  "(E − C at most the sender's window, 300 s by default), the signature is Ed25519 or RSA-SHA256 (PKCS#1 " +
  "v1.5) over the UTF-8 signing string `(created): C\\n(expires): E\\ndigest: D`, and D is the base64 SHA-256 " +
  "of the canonical JSON of `{header, message}` (keys sorted, no spaces; JCS or non-ASCII escaped as \\uXXXX)";

/** The envelope every request carries. `signature` may be absent when the policy allows. */
export function envelopeOf<M extends z.ZodType>(message: M, name?: string) {
  const schema = z.object({
    signature: z.string().max(8192).optional().openapi({
      description: `The DCI envelope signature over {header, message}: ${ENVELOPE_SIGNATURE_FORMAT}`,
      example: 'namespace="dci", kidId="sender-1|k1|ed25519", algorithm="ed25519", created="1767225600", ' +
        'expires="1767225900", headers="(created) (expires) digest", signature="…"',
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
