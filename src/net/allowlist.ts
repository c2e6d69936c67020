/**
 * DCI_OUTBOUND_ALLOW: the destinations outbound calls may reach despite the SSRF guard (and over plain http).
 * An entry is `[SENDER=]TARGET` (SENDER any sender id without a comma, e.g. `https://partner.org=cb.partner.org`),
 * TARGET one of `host`, `host:port`, `ipv4`, `ipv4:port`, `ipv4/bits`,
 * `ipv4/bits:port`, `[ipv6]`, `[ipv6]:port`, `[ipv6/bits]:port` or a bare `ipv6` / `ipv6/bits`. A port limits
 * the entry to that port; `SENDER=` limits it to the calls made for that sender (its callbacks, notifications
 * and JWKS fetches), so allowing one partner's host lets neither other senders nor other ports through.
 */
import { type Cidr, parseCidr } from "./ip.ts";

/** One parsed entry: a host name or an address range, optionally scoped to a port and a sender. */
export interface AllowEntry {
  text: string;
  sender?: string;
  host?: string;
  cidr?: Cidr;
  port?: number;
}

/** The parsed allowlist. */
export interface Allowlist {
  entries: readonly AllowEntry[];
}

/** A malformed entry; the message quotes it. */
export class AllowlistError extends Error {}

// The sender id syntax of src/dci/limits.ts (isSenderId), repeated so that src/net depends on nothing else.
const SENDER = /^(?!\.\.?$)[\x21-\x7e]{1,255}$/;
/** A host name as an entry may give it (lower case, without a trailing dot); DCI_OUTBOUND_DENY's entries too. */
export const HOST = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** Parses every entry; throws AllowlistError naming the first malformed one. */
export function parseAllowlist(entries: readonly string[]): Allowlist {
  return { entries: entries.map((e) => e.trim()).filter((e) => e !== "").map(parseAllowEntry) };
}

/** Parses one `[SENDER=]TARGET` entry. */
export function parseAllowEntry(raw: string): AllowEntry {
  const fail = (why: string) => new AllowlistError(`DCI_OUTBOUND_ALLOW entry "${raw}": ${why}`);
  // The last "=": a sender id may hold one (any printable ASCII), a target never does.
  const eq = raw.lastIndexOf("=");
  const sender = eq >= 0 ? raw.slice(0, eq).trim() : undefined;
  if (sender !== undefined && !SENDER.test(sender)) {
    throw fail("the sender id must be 1 to 255 printable ASCII characters without whitespace");
  }
  const target = raw.slice(eq + 1).trim().toLowerCase();
  let address = target;
  let portText: string | undefined;
  if (target.startsWith("[")) {
    const close = target.indexOf("]");
    if (close < 0) throw fail("missing ]");
    address = target.slice(1, close);
    const after = target.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) throw fail("expected :port after ]");
    if (after !== "") portText = after.slice(1);
  } else if ((target.match(/:/g) ?? []).length === 1) {
    [address, portText] = target.split(":");
  }
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!/^\d{1,5}$/.test(portText!) || port < 1 || port > 65535)) {
    throw fail("the port must be 1 to 65535");
  }
  const cidr = parseCidr(address);
  if (cidr) return { text: raw, sender, cidr, port };
  if (address.includes(":") || address.includes("/")) throw fail("not an IP address or CIDR range");
  const host = address.replace(/\.$/, "");
  if (!HOST.test(host)) throw fail("not a host name, IP address or CIDR range");
  return { text: raw, sender, host, port };
}

/** The entries that apply to a call made for `sender` (undefined: the server's own) to `port`. */
export function entriesFor(allow: Allowlist, sender: string | undefined, port: number): AllowEntry[] {
  return allow.entries.filter((e) =>
    (e.sender === undefined || e.sender === sender) && (e.port === undefined || e.port === port)
  );
}
