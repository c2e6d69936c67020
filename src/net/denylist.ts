/**
 * DCI_OUTBOUND_DENY: destinations outbound calls never reach, whatever else the SSRF guard or DCI_OUTBOUND_ALLOW
 * would let through: an operator's own networks on ordinary (publicly routable) addresses, a partner's host
 * that must not be called. An entry is a host name (`api.example.org`: that name only), a domain (`.corp.example`:
 * that name and every name under it), an IP address or a CIDR range (`ipv4`, `ipv4/bits`, `ipv6`, `ipv6/bits`,
 * bracketed or not). A name is checked as the URL names it, and every address it resolves to against the ranges
 * (an IPv4-mapped IPv6 address as its IPv4 address too), so a denied network cannot be reached by another name.
 */
import { type Cidr, inCidr, parseCidr, type ParsedIp } from "./ip.ts";

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

const HOST = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

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
    const name = entry.replace(/\.$/, "");
    const domain = name.startsWith(".");
    if (!HOST.test(domain ? name.slice(1) : name)) {
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

/** Whether `ip` (or, for an IPv4-mapped IPv6 address, its IPv4 address) lies in a denied range. */
export function deniedAddress(deny: Denylist, ip: ParsedIp): boolean {
  const mapped: ParsedIp | undefined = ip.family === 6 && ip.value >> 32n === 0xffffn
    ? { family: 4, value: ip.value & 0xffffffffn }
    : undefined;
  return deny.ranges.some((r) => inCidr(ip, r) || (mapped !== undefined && inCidr(mapped, r)));
}
