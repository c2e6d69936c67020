/** One delivery attempt of a signed envelope (callbacks and notifications), classified for the retry logic. */
import { jsonObject, type OutboundClient, OutboundError } from "./outbound.ts";
import { ERR_CODES } from "../dci/errors.ts";
import type { Metrics } from "../obs/metrics.ts";

/**
 * The outcome of one attempt. `permanent` failures are not retried (the guard refused the URL, the receiver
 * rejected the envelope for good); a `held` attempt was not made at all (its `hold` check said no right before
 * sending, or no outbound slot came free in time: `busy`) and counts as no attempt. `receiverCode` is the code of
 * a receiver that answered HTTP 2xx with `ack_status: "ERR"`: it rejected the delivery. `status` is the HTTP
 * status when there was one.
 */
export type DeliveryOutcome =
  | { ok: true; status: number }
  | { ok: false; permanent: boolean; error: string; held?: true; receiverCode?: string; status?: number };

/** Thrown by the pre-send check to cancel a request that must not go out. */
class Held extends Error {}

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
 * POSTs a JSON body once. A 2xx status is delivered unless the receiver's ACK says `ack_status: "ERR"`; of the
 * receiver's body only that ACK's error code is ever kept (never its message, never in logs or errors beyond
 * the code). `what` names the target in the error, e.g. "callback URL"; `sender` is whom it is for: its
 * allowlist entries and its share of the outbound slots. `hold` returns why the envelope must not be sent now,
 * or undefined: it is asked right before connecting, after any wait for a slot (deliverToSender, the caller,
 * asks it first, before fetching a token: once more here would be one more query per delivery). Never throws.
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
    const reason = await options.hold?.();
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
    if (res.status < 200 || res.status >= 300) {
      return {
        ok: false,
        permanent: false,
        error: `HTTP ${res.status} from ${options.what}`,
        status: res.status,
      };
    }
    const code = res.truncated ? undefined : errAckCode(res.text());
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
