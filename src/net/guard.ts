/**
 * The SSRF guard: vets a URL's parsed host and every address it resolves to. Denied hosts, domains and ranges
 * (config `outboundDeny`, src/net/denylist.ts) are refused, allowlisted or not; allowlisted hosts, IPs and CIDRs
 * (config `outboundAllow`, src/net/allowlist.ts) pass, and may use plain http and loopback; everything else must
 * be https to an address outside every special-purpose range (src/net/special_purpose.ts).
 */
import { lookup as dnsLookup } from "node:dns/promises";
import { type Allowlist, entriesFor } from "./allowlist.ts";
import { inCidr, type ParsedIp, parseIp, specialRangeOf } from "./ip.ts";
import { deniedAddress, deniedName, type Denylist } from "./denylist.ts";

/** Host names that are never a public endpoint (cloud metadata services and their aliases). */
export const METADATA_HOSTS: ReadonlySet<string> = new Set([
  "metadata",
  "metadata.google.internal",
  "metadata.goog",
  "instance-data",
  "instance-data.ec2.internal",
  "metadata.azure.com",
  "169.254.169.254",
]);

/** A vetted target: the URL, the addresses it may connect to, and whether it was allowlisted. */
export interface VettedTarget {
  url: URL;
  hostname: string;
  addresses: ParsedIpWithText[];
  allowlisted: boolean;
}

/** A resolved address with its text form. */
export interface ParsedIpWithText extends ParsedIp {
  text: string;
}

/** A refusal: `invalid_url` and `blocked` before any connection, `dns` when the name did not resolve. */
export class GuardError extends Error {
  /** `detail`: what the message must not say (a resolved address), for operators' debug logs only. */
  constructor(readonly reason: "invalid_url" | "blocked" | "dns", message: string, readonly detail?: string) {
    super(message);
  }
}

/** Resolves a host name to every address (A and AAAA). */
export type Resolver = (hostname: string) => Promise<string[]>;

/** The system resolver (getaddrinfo, so /etc/hosts applies, as it would for the connection). */
export async function systemResolver(hostname: string): Promise<string[]> {
  const rows = await dnsLookup(hostname, { all: true, verbatim: true });
  return rows.map((r) => r.address);
}

/**
 * What `vetUrl` needs: the allowlist (and the deny list, when the operator has one), a resolver, and the sender
 * the call is made for (scoped entries).
 */
export interface VetOptions {
  allow: Allowlist;
  deny?: Denylist;
  resolve: Resolver;
  sender?: string;
}

/**
 * Vets `rawUrl`: scheme, host name rules, then every resolved address. Throws GuardError when refused. A
 * refusal never says what a name resolved to (the sender could map the operator's network with it); the
 * address and its range go to `GuardError.detail`, for the operator's debug log only.
 */
export async function vetUrl(rawUrl: string, options: VetOptions): Promise<VettedTarget> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new GuardError("invalid_url", `"${rawUrl.slice(0, 200)}" is not a valid URL`);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new GuardError("invalid_url", `scheme "${url.protocol}" is not allowed (https only)`);
  }
  if (url.username || url.password) {
    throw new GuardError("invalid_url", "URLs with credentials are not allowed");
  }
  const hostname = url.hostname.toLowerCase().replace(/\.+$/, "");
  const port = Number(url.port || (url.protocol === "https:" ? 443 : 80));
  const rules = entriesFor(options.allow, options.sender, port);
  const literal = parseIp(hostname);
  if (options.deny && !literal && deniedName(options.deny, hostname)) {
    throw new GuardError("blocked", `host "${hostname}" is denied by the operator (DCI_OUTBOUND_DENY)`);
  }
  const hostAllowed = rules.some((r) => r.host === hostname);
  if (!hostAllowed && !literal) checkName(hostname);
  let addresses: ParsedIpWithText[];
  if (literal) {
    addresses = [{ ...literal, text: hostname.replace(/^\[|\]$/g, "") }];
  } else {
    let found: string[];
    try {
      found = await options.resolve(hostname);
    } catch (err) {
      const code = (err as { code?: unknown })?.code;
      throw new GuardError(
        "dns",
        `host "${hostname}" does not resolve${typeof code === "string" ? ` (${code})` : ""}`,
      );
    }
    addresses = found.map((text) => ({ ...parseIp(text)!, text })).filter((a) => a.family !== undefined);
    if (addresses.length === 0) throw new GuardError("dns", `host "${hostname}" has no addresses`);
  }
  const denied = options.deny && addresses.find((a) => deniedAddress(options.deny!, a));
  if (denied) {
    if (literal) {
      throw new GuardError("blocked", `address ${denied.text} is denied by the operator (DCI_OUTBOUND_DENY)`);
    }
    throw new GuardError(
      "blocked",
      `host "${hostname}" resolves to an address the operator denies (DCI_OUTBOUND_DENY)`,
      `${denied.text} denied`,
    );
  }
  const allIpsAllowed = addresses.every((a) => rules.some((r) => r.cidr && inCidr(a, r.cidr)));
  const allowlisted = hostAllowed || allIpsAllowed;
  if (!allowlisted) {
    for (const a of addresses) {
      const range = specialRangeOf(a);
      if (!range) continue;
      const where = `${range.cidr} (${range.name}, ${range.rfc})`;
      if (literal) throw new GuardError("blocked", `address ${a.text} is in ${where}`);
      throw new GuardError(
        "blocked",
        `host "${hostname}" resolves to an address that is not publicly routable`,
        `${a.text} in ${where}`,
      );
    }
    if (METADATA_HOSTS.has(hostname)) {
      throw new GuardError("blocked", `host "${hostname}" is a cloud metadata service`);
    }
  }
  if (url.protocol === "http:" && !allowlisted) {
    throw new GuardError("blocked", `plain http to "${hostname}" is not allowed (https only)`);
  }
  return { url, hostname, addresses, allowlisted };
}

function checkName(hostname: string): void {
  if (hostname === "" || !/^[a-z0-9._-]+$/.test(hostname)) {
    throw new GuardError("invalid_url", `host "${hostname}" is not a valid host name`);
  }
  if (METADATA_HOSTS.has(hostname)) {
    throw new GuardError("blocked", `host "${hostname}" is a cloud metadata service`);
  }
  if (hostname === "localhost" || /\.(localhost|internal|local|localdomain|home\.arpa)$/.test(hostname)) {
    throw new GuardError("blocked", `host "${hostname}" is a local name`);
  }
  if (!hostname.includes(".")) {
    throw new GuardError("blocked", `host "${hostname}" is a single-label name`);
  }
  // A purely numeric last label means the URL parser did not turn it into an IPv4 address: refuse it.
  if (/\.\d+$/.test(hostname) || /^[\d.]+$/.test(hostname)) {
    throw new GuardError("invalid_url", `host "${hostname}" is not a valid host name`);
  }
}
