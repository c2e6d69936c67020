/** Callbacks: where they go, and one signed delivery attempt through the SSRF-guarded client. */
import { CALLBACK_SUFFIX, callbackBase, trimTrailingSlashes } from "../dci/callback_url.ts";
import type { Deps } from "../deps.ts";
import { canonicalMessage, signedEnvelopeText } from "../dci/envelope.ts";
import type { DeliveryOutcome } from "../net/deliver.ts";
import { type Sender, senderForDelivery } from "../senders/store.ts";
import { type CallbackUrlMode, TEST_MODE_META } from "../senders/settings.ts";
import { deliverToSender } from "../senders/delivery.ts";
import { callbackAction, type TxnAction } from "./states.ts";
import { asyncAction } from "../dci/actions.ts";
import type { TxnRow, TxnWithResult } from "./store.ts";
import { isHeaderSafeId } from "../dci/limits.ts";
import { isHeaderCode } from "../dci/rejection.ts";

export type { DeliveryOutcome };

/**
 * The callback URL for `action` from a base (the sender's registered callback URL, else header.sender_uri):
 * the base itself in the sender's `exact` mode; a base already ending in a callback path (the spec's example
 * sender_uri is `…/callback/on-search`) has that last segment replaced by this action's (`…/on-subscribe`), as a
 * notify URL's is (src/subscriptions/rules.ts); else base + `/registry/on-search` etc. Undefined when the base is
 * not an absolute http(s) URL without credentials.
 */
export function callbackUrl(
  base: string | undefined,
  action: TxnAction,
  mode: CallbackUrlMode = "append",
): string | undefined {
  const url = callbackBase(base);
  if (!url) return undefined;
  if (mode === "exact") return url.toString();
  const path = trimTrailingSlashes(url.pathname);
  const own = asyncAction(action).callbackPath;
  url.pathname = CALLBACK_SUFFIX.test(path)
    ? path.replace(/\/(txn\/)?[^/]+$/, "") + own.slice(own.indexOf("/", 1))
    : path + own;
  return url.toString();
}

/**
 * Where the callback goes now: the sender's registered callback base as it is at send time (an operator may
 * have changed it since the request was accepted), else the request's header.sender_uri; the URL recorded at
 * accept when neither gives one. A changed URL is recorded on the row, so operators see where it went.
 */
export async function currentCallbackUrl(
  deps: Deps,
  row: TxnRow,
  sender: Sender | undefined,
): Promise<string> {
  let senderUri: string | undefined;
  try {
    const uri = (JSON.parse(row.request_header) as { sender_uri?: unknown }).sender_uri;
    senderUri = typeof uri === "string" ? uri : undefined;
  } catch { /* stored by accept as JSON; the recorded URL stands */ }
  const url = callbackUrl(sender?.callback_base_url ?? senderUri, row.action, sender?.callback_url_mode) ??
    row.callback_url;
  // A record of where it went (operators read it): a write that meets a storage fault does not stop the send.
  if (url !== row.callback_url) {
    await deps.storage.transactions.setCallbackUrl(row.id, url).catch((err) =>
      deps.log.warn("callback URL not recorded; the callback goes to it all the same", {
        correlation_id: row.correlation_id,
        err,
      })
    );
  }
  return url;
}

/**
 * The stored result as canonical text: as stored since migration 0032, re-serialised for a row stored before
 * (plain JSON).
 */
function storedMessage(row: TxnWithResult): string {
  const text = row.result ?? "{}";
  return row.result_canonical ? text : canonicalMessage(JSON.parse(text));
}

/**
 * Signs the stored result as the callback envelope and POSTs it once to the URL as it is now, with the sender's
 * outbound authentication. `hold` is asked right before sending (see postEnvelope). The outcome carries the URL
 * it went to (for the attempt history); a `held` one was never sent (held, or no outbound slot came free in
 * time), so it is no attempt: the worker releases the claim uncounted and the due-work poll takes it again.
 * Throws only when reading the sender meets a storage fault, before anything is sent (the worker then releases
 * the claim uncounted too).
 */
export async function deliverOnce(
  deps: Deps,
  row: TxnWithResult,
  options: { hold?: () => Promise<string | undefined> } = {},
): Promise<DeliveryOutcome & { url: string }> {
  const found = await senderForDelivery(deps, row.sender_id);
  const sender = found?.sender;
  let body: string;
  try {
    body = signedEnvelopeText(deps, {
      action: callbackAction(row.action),
      status: row.outcome ?? "rjct",
      receiverId: row.sender_id,
      totalCount: row.total_count ?? 0,
      completedCount: row.completed_count ?? 0,
      // The row may hold an operator-facing code (rjct.processing.failed); the header takes header codes only.
      statusReasonCode: isHeaderCode(row.status_reason_code) ? row.status_reason_code : undefined,
      statusReasonMessage: row.status_reason_message ?? undefined,
      messageId: row.callback_message_id ?? undefined,
      meta: sender?.test_mode ? TEST_MODE_META : undefined,
    }, storedMessage(row));
  } catch (err) {
    deps.log.error("callback envelope could not be built", { correlation_id: row.correlation_id, err });
    return {
      ok: false,
      permanent: false,
      error: "envelope: could not sign the callback",
      url: row.callback_url,
    };
  }
  // Ids are header-safe since accept refuses others; a row stored before that rule goes without the header
  // (the transaction_id is in the body) rather than never being delivered.
  const url = await currentCallbackUrl(deps, row, sender);
  const outcome = await deliverToSender(deps, row.sender_id, url, body, {
    headers: isHeaderSafeId(row.transaction_id) ? { "X-DCI-Transaction-ID": row.transaction_id } : {},
    what: "callback URL",
    hold: options.hold,
    outbound: found?.outbound,
    callbackBase: sender?.callback_base_url ?? null,
    testMode: sender?.test_mode,
    logFields: { correlation_id: row.correlation_id },
  });
  return { ...outcome, url };
}
