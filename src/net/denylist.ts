/**
 * DCI_OUTBOUND_DENY: destinations outbound calls never reach, whatever else the SSRF guard or DCI_OUTBOUND_ALLOW
 * would let through: an operator's own networks on ordinary (publicly routable) addresses, a partner's host
 * that must not be called. An entry is a host name (`api.example.org`: that name only), a domain (`.corp.example`:
 * that name and every name under it), an IP address or a CIDR range (`ipv4`, `ipv4/bits`, `ipv6`, `ipv6/bits`,
 * bracketed or not). A name is checked as the URL names it, and every address it resolves to against the ranges
 * (an IPv6 address that embeds an IPv4 one as that IPv4 address too: mapped, compatible, NAT64's well-known
 * prefix, 6to4, Teredo), so a denied network cannot be reached by another name or through a translator.
 */
import { type Cidr, inCidr, parseCidr, type ParsedIp } from "./ip.ts";
import { HOST } from "./allowlist.ts";

/** The parsed deny list. */
export interface Denylist {
  /** Host names denied exactly. */
  hosts: ReadonlySet<string>;
  /** Domains denied with every name under them (without the leading dot). */
  domains: readonly string[];
  /** Address ranges denied. */
  ranges: readonly Cidr[];
}

/** A malformed entry; the message quotes it. */
export class DenylistError extends Error {}

/** Parses every entry; throws DenylistError naming the first malformed one. */
export function parseDenylist(entries: readonly string[]): Denylist {
  const hosts = new Set<string>();
  const domains: string[] = [];
  const ranges: Cidr[] = [];
  for (const raw of entries.map((e) => e.trim()).filter((e) => e !== "")) {
    const entry = raw.toLowerCase().replace(/^\[(.*)\]$/, "$1");
    const cidr = parseCidr(entry);
    if (cidr) {
      ranges.push(cidr);
      continue;
    }
    const name = entry.replace(/\.+$/, "");
    const domain = name.startsWith(".");
    const host = domain ? name.slice(1) : name;
    // A numeric last label is an address the URL parser would have read as one (10.1, 0x7f000001): never a name.
    if (!HOST.test(host) || /(^|\.)(\d+|0x[0-9a-f]*)$/.test(host)) {
      throw new DenylistError(
        `DCI_OUTBOUND_DENY entry "${raw}": not a host name, .domain, IP address or CIDR range`,
      );
    }
    if (domain) domains.push(name.slice(1));
    else hosts.add(name);
  }
  return { hosts, domains, ranges };
}

/** Whether `hostname` (lower case, without a trailing dot) is denied by name. */
export function deniedName(deny: Denylist, hostname: string): boolean {
  return deny.hosts.has(hostname) || deny.domains.some((d) => hostname === d || hostname.endsWith(`.${d}`));
}

/** Whether `ip`, or the IPv4 address an IPv6 one embeds (`embeddedV4`), lies in a denied range. */
export function deniedAddress(deny: Denylist, ip: ParsedIp): boolean {
  const v4 = embeddedV4(ip);
  return deny.ranges.some((r) => inCidr(ip, r) || (v4 !== undefined && inCidr(v4, r)));
}

/**
 * The IPv4 address an IPv6 address carries: IPv4-mapped (::ffff:0:0/96) and IPv4-compatible (::/96), NAT64's
 * well-known prefix (64:ff9b::/96, RFC 6052), 6to4 (2002::/16, RFC 3056: bits 16-47) and Teredo (2001::/32,
 * RFC 4380: the client's address, inverted, in the last 32 bits); undefined for any other.
 */
function embeddedV4(ip: ParsedIp): ParsedIp | undefined {
  if (ip.family !== 6) return undefined;
  const v = ip.value;
  const last = v & 0xffffffffn;
  const v4 = (value: bigint): ParsedIp => ({ family: 4, value });
  if (v >> 32n === 0xffffn || v >> 32n === 0n || v >> 32n === 0x64ff9b0000000000000000n) return v4(last);
  if (v >> 112n === 0x2002n) return v4((v >> 80n) & 0xffffffffn);
  if (v >> 96n === 0x20010000n) return v4(last ^ 0xffffffffn);
  return undefined;
}
