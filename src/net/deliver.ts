/** One delivery attempt of a signed envelope (callbacks and notifications), classified for the retry logic. */
import { jsonObject, type OutboundClient, OutboundError } from "./outbound.ts";
import { ERR_CODES } from "../dci/errors.ts";
import type { Metrics } from "../obs/metrics.ts";

/**
 * The outcome of one attempt. `permanent` failures are not retried (the guard refused the URL, the receiver
 * rejected the envelope for good); a `held` attempt was not made at all (its `hold` check said no right before
 * sending, or no outbound slot came free in time: `busy`) and counts as no attempt. `receiverCode` is the code of
 * a receiver that answered HTTP 2xx with `ack_status: "ERR"`: it rejected the delivery; on a delivered outcome it
 * is DUPLICATE_CODE: the receiver already had this message_id. `status` is the HTTP status when there was one.
 */
export type DeliveryOutcome =
  | { ok: true; status: number; receiverCode?: typeof DUPLICATE_CODE }
  | { ok: false; permanent: boolean; error: string; held?: true; receiverCode?: string; status?: number };

/**
 * What a receiver applying DCI's replay rule answers a message_id it has seen. Every attempt of an envelope (a
 * retry, a re-send after a crash or an operator's retry) goes under the message_id of its first, which the
 * server made itself (a UUID, or a sealed batch's head): so this answer means an earlier attempt reached the
 * receiver though its answer did not reach us (a timeout, a crash), and the envelope is delivered. It is taken on
 * any attempt, the first as counted too: a crash between a send and its record, or an operator's retry, leaves
 * the count at zero though the receiver has it.
 */
export const DUPLICATE_CODE = "rjct.message_id.duplicate";

/** Thrown by the pre-send check to cancel a request that must not go out. */
class Held extends Error {}

/**
 * Why a delivery must not go out now: `hold`'s answer, or, when asking it failed (a read that met a storage
 * fault: a database that failed over, a pool that timed out), that. Either way nothing is sent and no attempt is
 * counted: the delivery is tried again, never failed for the fault.
 */
export async function holdReason(
  hold: (() => string | undefined | Promise<string | undefined>) | undefined,
): Promise<string | undefined> {
  try {
    return await hold?.();
  } catch (err) {
    return `not sent: the check before sending failed (${(err as Error)?.message ?? String(err)})`.slice(
      0,
      300,
    );
  }
}

/** How much of a receiver's answer is read: an ACK is a few hundred bytes; anything longer is not read further. */
const ACK_PREFIX_BYTES = 16_384;

/**
 * Receiver ERR codes that mean "try again later" (the receiver is down, busy or slow); any other ERR code is a
 * rejection of this envelope that sending it again will not change.
 */
export const TRANSIENT_RECEIVER_CODES: readonly string[] = [
  "err.service.unavailable",
  "err.request.timeout",
  "err.request.too_many_requests",
];

const SAFE_CODE = /^[A-Za-z0-9._-]{1,64}$/;

/** The code as recorded (a receiver's own text is never kept beyond a safe code). */
function recordedCode(code: unknown): string {
  return typeof code === "string" && SAFE_CODE.test(code) ? code : "err.unknown";
}

/**
 * Counts a delivery a receiver rejected, by kind and code: the spec's codes, else `other`, so receivers cannot
 * grow the series.
 */
export function countRejection(
  deps: { metrics: Metrics },
  kind: "callback" | "notification",
  code: string,
): void {
  deps.metrics.inc(
    "dci_receiver_rejections_total",
    "Deliveries a receiver answered HTTP 2xx with ack_status ERR, by kind and code",
    { kind, code: (ERR_CODES as readonly string[]).includes(code) ? code : "other" },
  );
}

/** The ERR code of a 2xx answer whose body is a DCI ERR acknowledgement, or undefined (delivered). */
function errAckCode(body: string): string | undefined {
  const outer = body.includes("ERR") ? jsonObject(body) : undefined;
  if (!outer) return undefined;
  // The spec nests the ACK in `message`; a bare ACK object is read the same way.
  const ack = (outer.message && typeof outer.message === "object" ? outer.message : outer) as Record<
    string,
    unknown
  >;
  if (ack.ack_status !== "ERR") return undefined;
  const error = ack.error && typeof ack.error === "object" ? ack.error as Record<string, unknown> : {};
  return recordedCode(error.code);
}

/**
 * Whether a 2xx or 4xx answer says the receiver already has this message_id (DUPLICATE_CODE): as the ERR ACK's
 * error code, as the lead of its message (this server's own form: the spec's ERR codes are err.* only, so the
 * rjct code leads the message), or as a `rjct` header's status_reason_code (a sync-style answer).
 */
function answersDuplicate(status: number, body: string): boolean {
  const family = Math.floor(status / 100);
  if (family !== 2 && family !== 4) return false;
  const outer = body.includes(DUPLICATE_CODE) ? jsonObject(body) : undefined;
  if (!outer) return false;
  const field = (o: unknown, key: string) =>
    o && typeof o === "object" ? (o as Record<string, unknown>)[key] : undefined;
  // The spec nests the ACK in `message`; a bare ACK object is read the same way.
  const inner = field(outer, "message");
  const error = field(inner && typeof inner === "object" ? inner : outer, "error");
  const message = field(error, "message");
  return field(error, "code") === DUPLICATE_CODE ||
    (typeof message === "string" &&
      (message === DUPLICATE_CODE || message.startsWith(`${DUPLICATE_CODE}:`))) ||
    field(field(outer, "header"), "status_reason_code") === DUPLICATE_CODE;
}

/**
 * POSTs a JSON body once. A 2xx status is delivered unless the receiver's ACK says `ack_status: "ERR"`; a 2xx or
 * 4xx answer that the receiver already has the message_id (answersDuplicate) is delivered too, with
 * DUPLICATE_CODE as its `receiverCode`. Of the receiver's body only that ACK's error code is ever kept (never its
 * message, never in logs or errors beyond the code). `what` names the target in the error, e.g. "callback
 * URL"; `sender` is whom it is for: its allowlist entries and its share of the outbound slots. `hold` returns why
 * the envelope must not be sent now, or undefined: it is asked right before connecting, after any wait for a slot
 * (deliverToSender, the caller, asks it first, before fetching a token: once more here would be one more query
 * per delivery). Never throws.
 */
export async function postEnvelope(
  http: OutboundClient,
  url: string,
  body: string,
  options: {
    headers: Record<string, string>;
    what: string;
    sender?: string;
    hold?: () => string | undefined | Promise<string | undefined>;
  },
): Promise<DeliveryOutcome> {
  const check = async () => {
    const reason = await holdReason(options.hold);
    if (reason !== undefined) throw new Held(reason);
  };
  try {
    const res = await http.request(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body,
      bodyPrefix: ACK_PREFIX_BYTES,
      beforeSend: options.hold ? check : undefined,
      sender: options.sender,
    });
    const text = res.truncated ? "" : res.text();
    if (answersDuplicate(res.status, text)) {
      return { ok: true, status: res.status, receiverCode: DUPLICATE_CODE };
    }
    if (res.status < 200 || res.status >= 300) {
      return {
        ok: false,
        permanent: false,
        error: `HTTP ${res.status} from ${options.what}`,
        status: res.status,
      };
    }
    const code = res.truncated ? undefined : errAckCode(text);
    if (code === undefined) return { ok: true, status: res.status };
    return {
      ok: false,
      permanent: !TRANSIENT_RECEIVER_CODES.includes(code),
      error: `${options.what} rejected the delivery: HTTP ${res.status} with ack_status ERR ${code}`,
      receiverCode: code,
      status: res.status,
    };
  } catch (err) {
    if (err instanceof Held) return { ok: false, permanent: false, error: err.message, held: true };
    if (err instanceof OutboundError) {
      // Never sent: nothing is held against the receiver, and the caller tries again soon.
      if (err.reason === "busy") {
        return { ok: false, permanent: false, error: `busy: ${err.message}`, held: true };
      }
      const permanent = err.reason === "blocked" || err.reason === "invalid_url";
      return { ok: false, permanent, error: `${err.reason}: ${err.message}` };
    }
    return { ok: false, permanent: false, error: `network: ${(err as Error)?.name ?? "error"}` };
  }
}
