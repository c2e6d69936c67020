/** One delivery attempt of a signed envelope (callbacks and notifications), classified for the retry logic. */
import { type OutboundClient, OutboundError } from "./outbound.ts";

/** The outcome of one attempt. `permanent` failures are not retried (the guard refused the URL). */
export type DeliveryOutcome =
  | { ok: true; status: number }
  | { ok: false; permanent: boolean; error: string };

/**
 * POSTs a JSON body once. A 2xx status is delivered; the receiver's body is never read into errors or logs, only
 * its status code (`what` names the target in the error, e.g. "callback URL"; `sender` is whom it is for:
 * its allowlist entries and its share of the outbound slots). Never throws.
 */
export async function postEnvelope(
  http: OutboundClient,
  url: string,
  body: string,
  options: { headers: Record<string, string>; what: string; sender?: string },
): Promise<DeliveryOutcome> {
  try {
    const res = await http.request(url, {
      method: "POST",
      headers: { "content-type": "application/json", ...options.headers },
      body,
      statusOnly: true,
      sender: options.sender,
    });
    if (res.status >= 200 && res.status < 300) return { ok: true, status: res.status };
    return { ok: false, permanent: false, error: `HTTP ${res.status} from ${options.what}` };
  } catch (err) {
    if (err instanceof OutboundError) {
      const permanent = err.reason === "blocked" || err.reason === "invalid_url";
      return { ok: false, permanent, error: `${err.reason}: ${err.message}` };
    }
    return { ok: false, permanent: false, error: `network: ${(err as Error)?.name ?? "error"}` };
  }
}
