/**
 * The address ranges the SSRF guard refuses: one table, every entry of the IANA IPv4 and IPv6 Special-Purpose
 * Address Registries (https://www.iana.org/assignments/iana-ipv4-special-registry and
 * .../iana-ipv6-special-registry) plus a few ranges outside them (multicast, deprecated forms, the IPv6 space
 * outside global unicast). Every entry is refused, including the few the registries mark globally reachable:
 * those are anycast and relay infrastructure (PCP, TURN, AMT, AS112 DNS sinks, ORCHIDv2, DETs), where no DCI
 * receiver runs. An operator who needs one allowlists it (DCI_OUTBOUND_ALLOW).
 * When IANA adds an entry, add it here and to tests/security/ssrf_test.ts (which lists both registries).
 */

/** One refused range: where it comes from, what it is and why an outbound call must not reach it. */
export interface SpecialRange {
  cidr: string;
  name: string;
  rfc: string;
  source: "iana-ipv4" | "iana-ipv6" | "extra";
  /** Why it is refused. */
  why: string;
}

const PRIVATE = "private network: would reach the operator's internal hosts";
const NOT_A_HOST = "not a unicast destination on the Internet";
const DOCS = "documentation range: never a real receiver";
const ANYCAST = "globally reachable per IANA, but anycast/relay infrastructure, never a DCI receiver";
const WRAPS_V4 = "wraps an IPv4 address: would bypass the IPv4 checks (use the IPv4 address itself)";

const from = (source: SpecialRange["source"]) => (cidr: string, name: string, rfc: string, why: string) => ({
  cidr,
  name,
  rfc,
  source,
  why,
});
const v4 = from("iana-ipv4");
const v6 = from("iana-ipv6");
const extra = from("extra");

/** Every refused range. The most specific match names an address in messages. */
export const SPECIAL_PURPOSE: readonly SpecialRange[] = [
  // IANA IPv4 Special-Purpose Address Registry, in registry order.
  v4("0.0.0.0/8", '"This network"', "RFC 791 §3.2", "connects to this host on many stacks"),
  v4("0.0.0.0/32", '"This host on this network"', "RFC 1122 §3.2.1.3", "connects to this host"),
  v4("10.0.0.0/8", "Private-Use", "RFC 1918", PRIVATE),
  v4("100.64.0.0/10", "Shared Address Space", "RFC 6598", "carrier-grade NAT space: " + PRIVATE),
  v4("127.0.0.0/8", "Loopback", "RFC 1122 §3.2.1.3", "this host: the server's own ports"),
  v4("169.254.0.0/16", "Link Local", "RFC 3927", "link-local: cloud metadata services live here"),
  v4("172.16.0.0/12", "Private-Use", "RFC 1918", PRIVATE),
  v4("192.0.0.0/24", "IETF Protocol Assignments", "RFC 6890 §2.1", NOT_A_HOST),
  v4("192.0.0.0/29", "IPv4 Service Continuity Prefix", "RFC 7335", "DS-Lite/464XLAT internal: " + PRIVATE),
  v4("192.0.0.8/32", "IPv4 dummy address", "RFC 7600", NOT_A_HOST),
  v4("192.0.0.9/32", "Port Control Protocol Anycast", "RFC 7723", ANYCAST),
  v4("192.0.0.10/32", "Traversal Using Relays around NAT Anycast", "RFC 8155", ANYCAST),
  v4("192.0.0.170/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 §2.2", NOT_A_HOST),
  v4("192.0.0.171/32", "NAT64/DNS64 Discovery", "RFC 8880, RFC 7050 §2.2", NOT_A_HOST),
  v4("192.0.2.0/24", "Documentation (TEST-NET-1)", "RFC 5737", DOCS),
  v4("192.31.196.0/24", "AS112-v4", "RFC 7535", ANYCAST),
  v4("192.52.193.0/24", "AMT", "RFC 7450", ANYCAST),
  v4("192.88.99.0/24", "Deprecated (6to4 Relay Anycast)", "RFC 7526", ANYCAST),
  v4("192.88.99.2/32", "6a44-relay anycast address", "RFC 6751", ANYCAST),
  v4("192.168.0.0/16", "Private-Use", "RFC 1918", PRIVATE),
  v4("192.175.48.0/24", "Direct Delegation AS112 Service", "RFC 7534", ANYCAST),
  v4("198.18.0.0/15", "Benchmarking", "RFC 2544", "benchmarking networks: " + PRIVATE),
  v4("198.51.100.0/24", "Documentation (TEST-NET-2)", "RFC 5737", DOCS),
  v4("203.0.113.0/24", "Documentation (TEST-NET-3)", "RFC 5737", DOCS),
  v4("240.0.0.0/4", "Reserved", "RFC 1112 §4", NOT_A_HOST),
  v4("255.255.255.255/32", "Limited Broadcast", "RFC 8190, RFC 919 §7", NOT_A_HOST),
  // IANA IPv6 Special-Purpose Address Registry, in registry order.
  v6("::1/128", "Loopback Address", "RFC 4291", "this host: the server's own ports"),
  v6("::/128", "Unspecified Address", "RFC 4291", "connects to this host on many stacks"),
  v6("::ffff:0:0/96", "IPv4-mapped Address", "RFC 4291", WRAPS_V4),
  v6("64:ff9b::/96", "IPv4-IPv6 Translat.", "RFC 6052", "NAT64: " + WRAPS_V4),
  v6("64:ff9b:1::/48", "IPv4-IPv6 Translat.", "RFC 8215", "local NAT64: " + PRIVATE),
  v6("100::/64", "Discard-Only Address Block", "RFC 6666", NOT_A_HOST),
  v6("100:0:0:1::/64", "Dummy IPv6 Prefix", "RFC 9780", NOT_A_HOST),
  v6("2001::/23", "IETF Protocol Assignments", "RFC 2928", NOT_A_HOST),
  v6("2001::/32", "TEREDO", "RFC 4380, RFC 8190", "Teredo tunnel: " + WRAPS_V4),
  v6("2001:1::1/128", "Port Control Protocol Anycast", "RFC 7723", ANYCAST),
  v6("2001:1::2/128", "Traversal Using Relays around NAT Anycast", "RFC 8155", ANYCAST),
  v6("2001:1::3/128", "DNS-SD Service Registration Protocol Anycast", "RFC 9665", ANYCAST),
  v6("2001:2::/48", "Benchmarking", "RFC 5180, RFC Errata 1752", "benchmarking networks: " + PRIVATE),
  v6("2001:3::/32", "AMT", "RFC 7450", ANYCAST),
  v6("2001:4:112::/48", "AS112-v6", "RFC 7535", ANYCAST),
  v6("2001:10::/28", "Deprecated (previously ORCHID)", "RFC 4843", NOT_A_HOST),
  v6("2001:20::/28", "ORCHIDv2", "RFC 7343", ANYCAST),
  v6("2001:30::/28", "Drone Remote ID Protocol Entity Tags (DETs) Prefix", "RFC 9374", ANYCAST),
  v6("2001:db8::/32", "Documentation", "RFC 3849", DOCS),
  v6("2002::/16", "6to4", "RFC 3056", "6to4 tunnel: " + WRAPS_V4),
  v6("2620:4f:8000::/48", "Direct Delegation AS112 Service", "RFC 7534", ANYCAST),
  v6("3fff::/20", "Documentation", "RFC 9637", DOCS),
  v6("5f00::/16", "Segment Routing (SRv6) SIDs", "RFC 9602", "SRv6 segment ids: " + PRIVATE),
  v6("fc00::/7", "Unique-Local", "RFC 4193, RFC 8190", PRIVATE),
  v6("fe80::/10", "Link-Local Unicast", "RFC 4291", "link-local: " + PRIVATE),
  // Outside the special-purpose registries.
  extra("224.0.0.0/4", "Multicast", "RFC 5771", NOT_A_HOST),
  extra("::/96", "IPv4-compatible (deprecated)", "RFC 4291 §2.5.5.1", WRAPS_V4),
  extra("::ffff:0:0:0/96", "IPv4-translated", "RFC 2765 §2.1", WRAPS_V4),
  extra("fec0::/10", "Site-Local (deprecated)", "RFC 3879", PRIVATE),
  extra("ff00::/8", "Multicast", "RFC 4291 §2.7", NOT_A_HOST),
  // IPv6 outside global unicast 2000::/3 is reserved or unassigned (IANA IPv6 Address Space): refusing the
  // complement of 2000::/3 fails closed on whatever IANA assigns there later.
  extra("::/3", "Outside global unicast (reserved)", "RFC 4291 §2.4", NOT_A_HOST),
  extra("4000::/2", "Outside global unicast (reserved)", "RFC 4291 §2.4", NOT_A_HOST),
  extra("8000::/1", "Outside global unicast (reserved)", "RFC 4291 §2.4", NOT_A_HOST),
];
