/**
 * The limit on failed admin-token checks, shared by the console login and the admin API's bearer check (both
 * verify with scrypt: ~50 ms of CPU each, which a flood of guesses must not be able to buy). Counted in the database
 * (src/senders/limits_store.ts: every isolate, instance and a restarted server see the same counts) over a rolling
 * minute, per client address (through DCI_TRUSTED_PROXIES only, IPv6 by /64) and for all clients together.
 *
 * Only a check that hashes takes a slot (a well-formed token naming an active row, or DCI_ADMIN_TOKEN): a
 * malformed token or an unknown id costs no scrypt, so it is not counted, but it is answered as a counted
 * failure would be (429 while the limit is full, else 401), so the answers tell nothing of which ids exist. With
 * DCI_ADMIN_TOKEN set, a token of no token's shape may be a guess at that phrase (which the operator chose, so
 * it may be guessable): it counts against its client address's limit, never everyone's (it costs no scrypt).
 * A check takes its slot before it hashes, so concurrent guesses cannot all pass an empty count: at most the
 * limit's worth of hashes run per minute whatever arrives at once. A check that succeeds gives its slot back: a
 * valid token is never refused for its own logins, only while its address (or everyone, unless this isolate
 * verified it within the day) is over the limit from failures. Refused checks are not verified and not counted.
 */
import type { Deps } from "../deps.ts";
import { ipLimitKey } from "../net/client_address.ts";
import type { SlotLimit } from "../senders/rate_limit.ts";
import { SERVING_BUSY_TIMEOUT_MS } from "../db/sqlite.ts";
import { type AdminTokenInfo, tokenLookup } from "./tokens.ts";

/** Longest token checked: a longer one is refused like any token that matches no row. */
const MAX_TOKEN = 512;

/** A check admitted by `admitTokenCheck`: the slot it took, which `giveBack` returns. */
interface TokenCheckTicket {
  limits: SlotLimit[];
  second: number;
}

/** Admitted, or refused for `retryAfter` seconds because this client (`client`) or everyone (`all`) failed too often. */
type TokenCheckAdmission =
  | { allowed: true; ticket?: TokenCheckTicket }
  | { allowed: false; retryAfter: number; scope: "client" | "all" };

/**
 * Takes a slot for one admin-token check from `clientIp` (`take`), or only looks whether one would be refused (a
 * check with nothing to hash: no ticket, nothing written); refuses it when the limit is full.
 */
async function admitTokenCheck(
  deps: Deps,
  clientIp: string,
  options: { take: boolean; clientOnly?: boolean },
): Promise<TokenCheckAdmission> {
  const limits: SlotLimit[] = [
    { scope: "admin_fail_ip", key: ipLimitKey(clientIp), limit: deps.config.adminLoginIpFailureLimit },
    ...options.clientOnly
      ? []
      : [{ scope: "admin_fail_all", key: "*", limit: deps.config.adminLoginFailureLimit }],
  ];
  const now = deps.clock.now();
  // An admin request waits for another process's write lock as an admin write does (at most 100 ms), then 503.
  const taken = options.take
    ? await deps.storage.limits.takeSlots(limits, now, { waitMs: SERVING_BUSY_TIMEOUT_MS })
    : await deps.storage.limits.fullSlots(limits, now) ?? { allowed: true as const, second: undefined };
  if (taken.allowed) {
    return {
      allowed: true,
      ticket: taken.second === undefined ? undefined : { limits, second: taken.second },
    };
  }
  deps.metrics.inc("dci_admin_login_refusals_total", "Admin-token checks refused after too many failures", {
    scope: taken.full.scope === "admin_fail_all" ? "all" : "client",
  });
  return {
    allowed: false,
    retryAfter: taken.retryAfter,
    scope: taken.full.scope === "admin_fail_all" ? "all" : "client",
  };
}

/** The check does not count as a failure (the token was valid, or nothing was hashed): its slot is given back. */
function giveBack(deps: Deps, ticket: TokenCheckTicket): Promise<void> {
  return deps.storage.limits.releaseSlots(ticket.limits, ticket.second);
}

/** The outcome of `checkAdminToken`: the token's description, or why it was refused. */
export type AdminTokenCheckResult =
  | { ok: true; info: AdminTokenInfo }
  | { ok: false; reason: "invalid" }
  | { ok: false; reason: "limited"; retryAfter: number; scope: "client" | "all" };

/**
 * Checks a presented admin token from `options.clientIp` under the limit: only a token naming an active row takes a slot
 * (and hashes); any other is refused as invalid, or as limited while a counted check would be.
 */
export async function checkAdminToken(
  deps: Deps,
  token: string,
  options: { clientIp: string },
): Promise<AdminTokenCheckResult> {
  const check = token.length > 0 && token.length <= MAX_TOKEN
    ? await deps.storage.adminTokens.find(token, { envToken: deps.config.adminToken })
    : undefined;
  // A guess at DCI_ADMIN_TOKEN: a slot of its address's (kept: it failed). Nothing else to hash: no slot, only a
  // look at the counts, to answer as a counted check would.
  const phraseGuess = check === undefined && deps.config.adminToken !== "" && token.length > 0 &&
    tokenLookup(token) === undefined;
  // A token verified here within the day is not refused for everyone's failures (src/admin/known_tokens.ts).
  const known = check !== undefined && deps.knownAdminTokens.has(token, deps.clock.now());
  const admission = await admitTokenCheck(deps, options.clientIp, {
    take: check !== undefined || phraseGuess,
    clientOnly: phraseGuess || known,
  });
  if (!admission.allowed) {
    return { ok: false, reason: "limited", retryAfter: admission.retryAfter, scope: admission.scope };
  }
  if (!check || !admission.ticket) return { ok: false, reason: "invalid" };
  const info = await check.verify();
  if (!info) return { ok: false, reason: "invalid" };
  await giveBack(deps, admission.ticket);
  deps.knownAdminTokens.remember(token, deps.clock.now());
  // When it was last used, as `admin-token list` and the console show it: written at each verification (a login,
  // or the admin API's at most once a minute per isolate: src/admin/auth.ts), not per request. A write that
  // fails (the database busy) costs the caller nothing.
  const at = new Date(deps.clock.now()).toISOString();
  await deps.storage.adminTokens.touch(info.id, at).catch((err) =>
    deps.log.debug("admin token last use not recorded", { admin_token_id: info.id, err })
  );
  return { ok: true, info: { ...info, last_used_at: at } };
}
