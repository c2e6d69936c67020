/** IP address parsing, CIDR matching, and which special-purpose range (src/net/special_purpose.ts) holds an address. */
import { isIP } from "node:net";
import { SPECIAL_PURPOSE, type SpecialRange } from "./special_purpose.ts";

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
  const [addr, len, ...rest] = text.trim().split("/");
  const ip = parseIp(addr);
  if (!ip || rest.length > 0 || (len !== undefined && !/^\d{1,3}$/.test(len))) return undefined;
  const max = ip.family === 4 ? 32 : 128;
  const bits = len === undefined ? max : Number(len);
  if (bits > max) return undefined;
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

const SPECIAL = SPECIAL_PURPOSE.map((range) => ({ range, cidr: parseCidr(range.cidr)! }));

/**
 * The special-purpose range `ip` lies in (the most specific of SPECIAL_PURPOSE), or undefined when it is a
 * globally routable unicast address.
 */
export function specialRangeOf(ip: ParsedIp): SpecialRange | undefined {
  let best: { range: SpecialRange; cidr: Cidr } | undefined;
  for (const entry of SPECIAL) {
    if (inCidr(ip, entry.cidr) && (!best || entry.cidr.bits > best.cidr.bits)) best = entry;
  }
  return best?.range;
}
