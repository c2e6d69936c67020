/** One delivery attempt of a signed envelope (callbacks and notifications), classified for the retry logic. */
import { type OutboundClient, OutboundError } from "./outbound.ts";

/**
 * The outcome of one attempt. `permanent` failures are not retried (the guard refused the URL); a `held`
 * attempt was not made at all (its `hold` check said no right before sending) and counts as no attempt.
 */
export type DeliveryOutcome =
  | { ok: true; status: number }
  | { ok: false; permanent: boolean; error: string; held?: true };

/** Thrown by the pre-send check to cancel a request that must not go out. */
class Held extends Error {}

/**
 * POSTs a JSON body once. A 2xx status is delivered; the receiver's body is never read into errors or logs, only
 * its status code (`what` names the target in the error, e.g. "callback URL"; `sender` is whom it is for:
 * its allowlist entries and its share of the outbound slots). `hold` returns why the envelope must not be sent
 * now, or undefined: it is asked before and again right before connecting. Never throws.
 */
export async function postEnvelope(
  http: OutboundClient,
  url: string,
  body: string,
  options: {
    headers: Record<string, string>;
    what: string;
    sender?: string;
    hold?: () => string | undefined;
  },
): Promise<DeliveryOutcome> {
  const check = () => {
    const reason = options.hold?.();
    if (reason !== undefined) throw new Held(reason);
  };
  try {
    check();
    const res = await http.request(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body,
      statusOnly: true,
      beforeSend: options.hold ? check : undefined,
      sender: options.sender,
    });
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, permanent: false, error: `HTTP ${res.status} from ${options.what}` };
  } catch (err) {
    if (err instanceof Held) return { ok: false, permanent: false, error: err.message, held: true };
    if (err instanceof OutboundError) {
      const permanent = err.reason === "blocked" || err.reason === "invalid_url";
      return { ok: false, permanent, error: `${err.reason}: ${err.message}` };
    }
    return { ok: false, permanent: false, error: `network: ${(err as Error)?.name ?? "error"}` };
  }
}
