/**
 * Length caps on everything senders, admins and import files send, applied when the input is parsed, so that no
 * pattern, parser or store ever sees an unbounded string. The spec gives maxLength 99 to ids and 999 to messages;
 * the other caps are far above any real value and far below what could cost time.
 */

/** DCI ids: transaction_id, message_id, reference_id, correlation_id, subscription codes (spec maxLength 99). */
export const MAX_ID = 99;
/** Sender ids (protocol decisions: printable ASCII without whitespace, URLs and domains included). */
export const MAX_SENDER_ID = 255;
/** ISO 8601 timestamps (`2026-01-01T00:00:00.000000+05:30` is 32). */
export const MAX_TIMESTAMP = 64;
/** Short codes and names: version, action, alg, locale, scope names, record and event type names. */
export const MAX_CODE = 64;
/** Human-readable names. */
export const MAX_NAME = 200;
/** URLs (sender_uri, callback and JWKS URLs). */
export const MAX_URL = 2048;
/**
 * Any string (key or value) anywhere in a registry request body. The largest legitimate one is the envelope
 * signature (an RSA-4096 signature string is under 1,000 characters; the schema allows 8,192).
 */
export const MAX_STRING = 8192;
/** A serialised subscription filter (a query of at most 64 comparisons). */
export const MAX_FILTER_JSON = 16_384;
/** A serialised subscription frequency object (`{start_time, end_time, frequency}`). */
export const MAX_FREQUENCY_JSON = 1024;
/** A public key as JSON (an RSA-16384 JWK is under 3,000 characters). */
export const MAX_JWK_JSON = 16_384;
/** An HTTP signature header (Signature-Input, Signature, Content-Digest). */
export const MAX_SIGNATURE_HEADER = 8192;

const SENDER_ID = /^(?!\.\.?$)[\x21-\x7e]{1,255}$/;

/**
 * True for a sender id as partners write them (`social.example.org`, `https://integrating-server.com`): 1 to 255
 * printable ASCII characters, no whitespace, and not `.` or `..` (a sender's id is a path segment of the admin
 * API and the console, where those two would resolve to another page). Compared exactly everywhere; only registration also refuses an id
 * that differs from an existing one by case alone.
 */
export function isSenderId(value: unknown): value is string {
  return typeof value === "string" && SENDER_ID.test(value);
}

/** The sender id rule as error messages state it (after the field's name). */
export const SENDER_ID_RULE =
  `must be 1 to ${MAX_SENDER_ID} printable ASCII characters without whitespace, and not . or ..`;

const HEADER_SAFE = /^[\x21-\x7e]{1,99}$/;

/**
 * True for an id that can travel in an HTTP header unchanged (callbacks carry `X-DCI-Transaction-ID`): 1 to 99
 * printable ASCII characters, no space or control character (a NUL truncated headers, non-ASCII made the
 * request fail, leading or trailing spaces are trimmed away).
 */
export function isHeaderSafeId(value: unknown): value is string {
  return typeof value === "string" && HEADER_SAFE.test(value);
}

/** The header-safe id rule as error messages state it (after the field's name). */
export const HEADER_SAFE_ID_RULE =
  `must be 1 to ${MAX_ID} printable ASCII characters without spaces (ids travel in HTTP headers)`;

/**
 * The longest cursor accepted: what this server issues for 5 sort keys of at most 256 characters each, each
 * character up to 6 bytes in its JSON (a control character or a lone surrogate written `\u00XX`), base64'd
 * (4/3): about 10,300 characters. At 4,096 a cursor of long non-ASCII keys the server itself issued was refused.
 */
export const MAX_CURSOR_LENGTH = 12_288;
