/** IP address parsing, CIDR matching and the IANA special-purpose ranges the SSRF guard refuses. */
import { isIP } from "node:net";

/** A parsed address: family and value as a bigint (32 bits for v4, 128 for v6). */
export interface ParsedIp {
  family: 4 | 6;
  value: bigint;
}

/** A CIDR range. */
export interface Cidr {
  family: 4 | 6;
  base: bigint;
  bits: number;
}

/** Parses a dotted-quad IPv4 or an IPv6 address (brackets and zone ids are stripped); undefined otherwise. */
export function parseIp(text: string): ParsedIp | undefined {
  let s = text.trim();
  if (s.startsWith("[") && s.endsWith("]")) s = s.slice(1, -1);
  const zone = s.indexOf("%");
  if (zone >= 0) s = s.slice(0, zone);
  const kind = isIP(s);
  if (kind === 4) return { family: 4, value: v4ToBig(s) };
  if (kind === 6) return { family: 6, value: v6ToBig(s) };
  return undefined;
}

function v4ToBig(s: string): bigint {
  return s.split(".").reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

function v6ToBig(s: string): bigint {
  let text = s.toLowerCase();
  // An embedded dotted quad (e.g. ::ffff:1.2.3.4) becomes two hex groups.
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const v = v4ToBig(dotted[1]);
    text = text.slice(0, -dotted[1].length) + `${(v >> 16n).toString(16)}:${(v & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const h = head ? head.split(":") : [];
  const t = tail !== undefined && tail !== "" ? tail.split(":") : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill("0"), ...t];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

/** Parses `a.b.c.d/n`, `v6/n` or a bare address (a /32 or /128). */
export function parseCidr(text: string): Cidr | undefined {
  const [addr, len] = text.trim().split("/");
  const ip = parseIp(addr);
  if (!ip) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  const bits = len === undefined ? max : Number(len);
  if (!Number.isInteger(bits) || bits < 0 || bits > max) return undefined;
  return { family: ip.family, base: mask(ip.value, bits, max), bits };
}

function mask(value: bigint, bits: number, max: number): bigint {
  if (bits === 0) return 0n;
  const shift = BigInt(max - bits);
  return (value >> shift) << shift;
}

/** True when `ip` lies inside `cidr`. */
export function inCidr(ip: ParsedIp, cidr: Cidr): boolean {
  if (ip.family !== cidr.family) return false;
  return mask(ip.value, cidr.bits, ip.family === 4 ? 32 : 128) === cidr.base;
}

const BLOCKED_V4 = [
  "0.0.0.0/8",
  "10.0.0.0/8",
  "100.64.0.0/10",
  "127.0.0.0/8",
  "169.254.0.0/16",
  "172.16.0.0/12",
  "192.0.0.0/24",
  "192.0.2.0/24",
  "192.88.99.0/24",
  "192.168.0.0/16",
  "198.18.0.0/15",
  "198.51.100.0/24",
  "203.0.113.0/24",
  "224.0.0.0/4",
  "240.0.0.0/4",
  "255.255.255.255/32",
].map((c) => parseCidr(c)!);

const BLOCKED_V6 = [
  "::/128",
  "::1/128",
  "64:ff9b::/96",
  "64:ff9b:1::/48",
  "100::/64",
  "2001::/23",
  "2001:db8::/32",
  "2002::/16",
  "fc00::/7",
  "fe80::/10",
  "fec0::/10",
  "ff00::/8",
].map((c) => parseCidr(c)!);

const MAPPED_V4 = parseCidr("::ffff:0:0/96")!;
const COMPAT_V4 = parseCidr("::/96")!;

/** Why an address is special-purpose (loopback, private, ...), or undefined when it is globally routable. */
export function blockedReason(ip: ParsedIp): string | undefined {
  if (ip.family === 6 && (inCidr(ip, MAPPED_V4) || (inCidr(ip, COMPAT_V4) && ip.value > 1n))) {
    // IPv4-mapped (and deprecated IPv4-compatible) addresses reach IPv4 hosts: refuse them outright.
    return "an IPv4-mapped IPv6 address";
  }
  const list = ip.family === 4 ? BLOCKED_V4 : BLOCKED_V6;
  const hit = list.find((c) => inCidr(ip, c));
  return hit ? `in the special-purpose range ${formatCidr(hit)}` : undefined;
}

/** Formats a CIDR back to text (for messages). */
export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.base })}/${c.bits}`;
}

/** Formats a parsed address as text (IPv6 without zero compression, which is fine for messages). */
export function formatIp(ip: ParsedIp): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((s) => String((ip.value >> s) & 0xffn)).join(".");
  }
  const groups: string[] = [];
  for (let i = 7; i >= 0; i--) groups.push(((ip.value >> BigInt(i * 16)) & 0xffffn).toString(16));
  return groups.join(":");
}
