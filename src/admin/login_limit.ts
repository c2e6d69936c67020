/**
 * The limit on failed admin-token checks, shared by the console login and the admin API's bearer check (both
 * verify with scrypt: ~50 ms of CPU each, which a flood of guesses must not be able to buy). Counted in the database
 * (src/senders/limits_store.ts: every isolate, instance and a restarted server see the same counts) over a rolling
 * minute, per client address (through DCI_TRUSTED_PROXIES only, IPv6 by /64) and for all clients together.
 *
 * Each check takes its slot before it verifies, so concurrent guesses cannot all pass an empty count: at most
 * the limit's worth of checks run per minute whatever arrives at once. A check that succeeds gives its slot
 * back: a valid token is never refused for its own logins, only while its address (or everyone) is over the
 * limit from failures. Refused checks are not verified and not counted.
 */
import type { Deps } from "../deps.ts";
import { ipLimitKey } from "../net/client_address.ts";
import type { SlotLimit } from "../senders/rate_limit.ts";

/** A check admitted by `admitTokenCheck`: pass it to `tokenCheckSucceeded` when the token was valid. */
export interface TokenCheckTicket {
  limits: SlotLimit[];
  second: number;
}

/** Admitted, or refused for `retryAfter` seconds because this client (`client`) or everyone (`all`) failed too often. */
export type TokenCheckAdmission =
  | { allowed: true; ticket: TokenCheckTicket }
  | { allowed: false; retryAfter: number; scope: "client" | "all" };

/** Takes a slot for one admin-token check from `clientIp`, or refuses it. */
export async function admitTokenCheck(deps: Deps, clientIp: string): Promise<TokenCheckAdmission> {
  const limits: SlotLimit[] = [
    { scope: "admin_fail_ip", key: ipLimitKey(clientIp), limit: deps.config.adminLoginIpFailureLimit },
    { scope: "admin_fail_all", key: "*", limit: deps.config.adminLoginFailureLimit },
  ];
  const taken = await deps.storage.limits.takeSlots(limits, deps.clock.now());
  if (taken.allowed) return { allowed: true, ticket: { limits, second: taken.second } };
  deps.metrics.inc("dci_admin_login_refusals_total", "Admin-token checks refused after too many failures", {
    scope: taken.full.scope === "admin_fail_all" ? "all" : "client",
  });
  return {
    allowed: false,
    retryAfter: taken.retryAfter,
    scope: taken.full.scope === "admin_fail_all" ? "all" : "client",
  };
}

/** The token was valid: its check does not count as a failure. */
export function tokenCheckSucceeded(deps: Deps, ticket: TokenCheckTicket): Promise<void> {
  return deps.storage.limits.releaseSlots(ticket.limits, ticket.second);
}
