/**
 * Who a request comes from: the TCP peer, or, when the peer is a trusted reverse proxy (DCI_TRUSTED_PROXIES),
 * the client those proxies name in `X-Forwarded-For` / `Forwarded` (RFC 7239), and the scheme it used. Headers
 * from any other peer are ignored: a client cannot choose its own address for the per-IP limits or the logs.
 */
import { type Cidr, inCidr, parseCidr, type ParsedIp, parseIp } from "./ip.ts";

/** The request's client as the server will count and log it. */
export interface ClientAddress {
  /** The client's IP address (IPv4-mapped IPv6 shown as IPv4), or "unknown" without a peer. */
  ip: string;
  /** The scheme the client used, from a trusted proxy (`http` or `https`); undefined: the request's own. */
  proto?: "http" | "https";
}

/** Parses the DCI_TRUSTED_PROXIES entries (already validated by the config). */
export function parseTrustedProxies(entries: readonly string[]): Cidr[] {
  return entries.map((e) => parseCidr(e)).filter((c): c is Cidr => c !== undefined);
}

const V4_MAPPED = parseCidr("::ffff:0:0/96")!;

/** An address with IPv4-mapped IPv6 (a dual-stack socket's view of an IPv4 peer) unwrapped to IPv4. */
function normalise(ip: ParsedIp): ParsedIp {
  return ip.family === 6 && inCidr(ip, V4_MAPPED) ? { family: 4, value: ip.value & 0xffffffffn } : ip;
}

function trusted(ip: ParsedIp, proxies: readonly Cidr[]): boolean {
  return proxies.some((c) => inCidr(ip, c));
}

/**
 * One node of a forwarding header: `1.2.3.4`, `1.2.3.4:80`, `[v6]`, `[v6]:80`, `"[v6]:80"` or a bare v6
 * address. Undefined for anything else (`unknown`, an obfuscated `_node`).
 */
function parseNode(text: string): ParsedIp | undefined {
  let s = text.trim();
  if (s.startsWith('"') && s.endsWith('"') && s.length >= 2) s = s.slice(1, -1);
  if (s.length > 64) return undefined;
  if (s.startsWith("[")) {
    const end = s.indexOf("]");
    const ip = end > 0 ? parseIp(s.slice(1, end)) : undefined;
    // `[::ffff:10.0.0.2]` is 10.0.0.2, as a bare one is: matched against IPv4 trusted proxies and limits alike.
    return ip ? normalise(ip) : undefined;
  }
  const colon = s.indexOf(":");
  if (colon > 0 && colon === s.lastIndexOf(":")) s = s.slice(0, colon); // IPv4 with a port
  const ip = parseIp(s);
  return ip ? normalise(ip) : undefined;
}

/** The hops of `X-Forwarded-For` (client first), or of `Forwarded` with each element's `proto`. */
function hops(headers: Headers): Array<{ node: string; proto?: string }> | undefined {
  const xff = headers.get("x-forwarded-for");
  if (xff !== null) return xff.split(",").map((node) => ({ node }));
  const forwarded = headers.get("forwarded");
  if (forwarded === null) return undefined;
  return forwarded.split(",").map((element) => {
    const pairs = new Map<string, string>();
    for (const pair of element.split(";")) {
      const eq = pair.indexOf("=");
      if (eq > 0) pairs.set(pair.slice(0, eq).trim().toLowerCase(), pair.slice(eq + 1).trim());
    }
    return { node: pairs.get("for") ?? "", proto: pairs.get("proto")?.replace(/^"|"$/g, "") };
  });
}

function scheme(value: string | undefined | null): "http" | "https" | undefined {
  const v = value?.split(",")[0].trim().toLowerCase();
  return v === "http" || v === "https" ? v : undefined;
}

/**
 * The client of a request whose TCP peer is `peer`: the peer itself unless it is a trusted proxy; then the
 * forwarding header is walked from the right (the hop the nearest proxy added), skipping trusted proxies, and
 * the first address that is not a trusted proxy is the client. `X-Forwarded-For` wins over `Forwarded` (the
 * proxy must add to the one it uses and drop the other). A hop that is not an address ends the walk at the
 * proxy that wrote it. The scheme comes from that hop's `Forwarded` `proto`, or from `X-Forwarded-Proto`.
 */
export function clientAddress(
  peer: string | undefined,
  headers: Headers,
  proxies: readonly Cidr[],
): ClientAddress {
  const parsedPeer = peer ? parseIp(peer) : undefined;
  if (!parsedPeer) return { ip: peer ? peer.slice(0, 64) : "unknown" };
  let client = normalise(parsedPeer);
  if (proxies.length === 0 || !trusted(client, proxies)) return { ip: formatAddress(client) };
  const list = hops(headers);
  if (!list) return { ip: formatAddress(client), proto: scheme(headers.get("x-forwarded-proto")) };
  let proto = scheme(headers.get("x-forwarded-proto"));
  for (let i = list.length - 1; i >= 0; i--) {
    const node = parseNode(list[i].node);
    if (!node) break;
    client = node;
    if (list[i].proto !== undefined) proto = scheme(list[i].proto);
    if (!trusted(node, proxies)) break;
  }
  return { ip: formatAddress(client), proto };
}

/** The key the per-IP limits count under: the IPv4 address, or the /64 of an IPv6 address (one subnet). */
export function ipLimitKey(ip: string): string {
  const parsed = parseIp(ip);
  if (!parsed) return ip.slice(0, 64);
  const n = normalise(parsed);
  if (n.family === 4) return formatAddress(n);
  return `${formatAddress({ family: 6, value: (n.value >> 64n) << 64n })}/64`;
}

/** The address as text; IPv6 in its canonical compressed form (the URL parser's), e.g. `2001:db8::1`. */
function formatAddress(ip: ParsedIp): string {
  if (ip.family === 4) return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join(".");
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((ip.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return new URL(`http://[${groups.join(":")}]/`).hostname.slice(1, -1);
}
