/**
 * Delivering an envelope to a sender's receiver (callbacks and notifications): with the sender's outbound
 * authentication (outbound_auth.ts) and, when an OAuth2 token from the cache is refused with HTTP 401, once
 * more with a freshly fetched token. The attempt itself is postEnvelope's (net/deliver.ts).
 */
import type { Deps } from "../deps.ts";
import { type DeliveryOutcome, holdReason, postEnvelope } from "../net/deliver.ts";
import type { OutboundAuthRow } from "./sender_store.ts";
import { credentialAllowed } from "./outbound_auth.ts";

/**
 * POSTs `body` to `url` for `senderId` once (twice on a refused cached token), with the sender's credential only
 * where credentialAllowed says so. Never throws.
 */
export async function deliverToSender(
  deps: Deps,
  senderId: string,
  url: string,
  body: string,
  options: {
    headers: Record<string, string>;
    what: string;
    hold?: () => string | undefined | Promise<string | undefined>;
    /**
     * The caller made the same check as `hold` in this very turn (a notification lane, right before building
     * the envelope): `hold` is then asked only right before connecting, one query less per delivery.
     */
    checkedNow?: boolean;
    /** The sender's outbound authentication columns, from the caller's read of it (undefined: no sender). */
    outbound: OutboundAuthRow | undefined;
    /** The sender's registered callback base URL (null: none), from the same read. */
    callbackBase: string | null;
    /** The sender is marked test: the log says so, with `logFields` naming what is delivered. */
    testMode?: boolean;
    logFields?: Record<string, unknown>;
  },
): Promise<DeliveryOutcome> {
  // No token is fetched for a delivery that is held anyway.
  const reason = options.checkedNow ? undefined : await holdReason(options.hold);
  if (reason !== undefined) return { ok: false, permanent: false, error: reason, held: true };
  if (options.testMode) {
    deps.log.info(`delivery to a test sender (${options.what})`, {
      test_mode: true,
      sender_id: senderId,
      ...options.logFields,
    });
  }
  const send = async (authorization: string | undefined) => {
    const outcome = await postEnvelope(deps.http, url, body, {
      what: options.what,
      hold: options.hold,
      headers: authorization ? { ...options.headers, authorization } : options.headers,
      sender: senderId,
    });
    if (outcome.ok && outcome.receiverCode) {
      deps.log.info(
        `${options.what}: the receiver already had this message (an earlier attempt); delivered`,
        {
          sender_id: senderId,
          receiver_code: outcome.receiverCode,
          ...options.logFields,
        },
      );
    }
    return outcome;
  };
  // Not to an origin outside the sender's registered ones: no token is fetched for it either.
  const credential = credentialFor(deps, senderId, url, options);
  const outbound = credential ? options.outbound : undefined;
  const auth = await deps.outboundTokens.authorization(deps, senderId, outbound);
  // A credential that could not be had fails (or holds: its token fetch found no slot) the attempt as it says.
  if (!auth.ok) return auth;
  const outcome = await send(auth.header);
  if (outcome.ok || outcome.status !== 401 || !auth.fromCache) return outcome;
  // The receiver no longer takes the cached token (revoked, or its clock ran ahead). A delivery beside this one
  // may have fetched a new one already: sent with that. Else one is fetched now, once a minute at most (a
  // receiver that refuses every token fails its deliveries without a grant each).
  const current = await deps.outboundTokens.authorization(deps, senderId, outbound);
  if (!current.ok) return current;
  if (current.header !== auth.header) return await send(current.header);
  if (!deps.outboundTokens.mayRefreshAfter401(senderId, deps.clock.now())) return outcome;
  const fresh = await deps.outboundTokens.authorization(deps, senderId, outbound, { fresh: true });
  if (!fresh.ok) return fresh;
  return await send(fresh.header);
}

/**
 * Whether the delivery to `url` carries the sender's credential (see credentialAllowed); a delivery that has one
 * configured but goes without it is logged once per sender and origin.
 */
function credentialFor(
  deps: Deps,
  senderId: string,
  url: string,
  options: { outbound: OutboundAuthRow | undefined; callbackBase: string | null },
): boolean {
  const row = options.outbound;
  if (!row || row.outbound_auth === "none" || row.outbound_secret === null) return false;
  if (credentialAllowed(url, row, options.callbackBase)) return true;
  deps.outboundTokens.warnWithout(deps, senderId, url);
  return false;
}
