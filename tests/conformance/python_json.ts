/**
 * Python's `json.dumps`, ported for conformance tests, independent of the server's canonicaliser: what an
 * OpenSPP signer (`json.dumps(obj, sort_keys=True, separators=(",", ":"))`) hashes and what `requests` or `httpx`
 * put on the wire. A Python value is modelled so that what JavaScript cannot tell apart stays apart:
 *   PyFloat(5)        a Python float            → 5.0 (float.__repr__)
 *   PyDecimal("2.50") a decimal.Decimal written by an encoder that keeps it (simplejson's use_decimal) → 2.50
 *   5 / 5n            a Python int             → 5
 * Ported from CPython's Lib/json/encoder.py (ESCAPE_ASCII, py_encode_basestring_ascii) and Python/pystrtod.c
 * (repr of a float: the shortest round-trip digits; exponent notation when the decimal point position is
 * ≤ -4 or > 16; at least two exponent digits, always signed; ".0" on integral values).
 */

/** A Python float. */
export class PyFloat {
  constructor(readonly value: number) {}
}

/** A decimal.Decimal that the encoder writes as its own text (e.g. `2.50`). */
export class PyDecimal {
  constructor(readonly text: string) {}
}

/** A value Python's json module can encode. */
export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyFloat
  | PyDecimal
  | PyValue[]
  | { [key: string]: PyValue };

/** `json.dumps` options (Python's defaults when absent). */
export interface DumpsOptions {
  sortKeys?: boolean;
  separators?: [string, string];
  ensureAscii?: boolean;
}

/** `float.__repr__`: 5.0, 1e-07, 0.1, 1e+16, 1000000000000000.0, -0.0, inf written as json.dumps does. */
export function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return "NaN";
  if (!Number.isFinite(x)) return x > 0 ? "Infinity" : "-Infinity";
  if (x === 0) return Object.is(x, -0) ? "-0.0" : "0.0";
  const sign = x < 0 ? "-" : "";
  // toExponential() without an argument gives the shortest digits that round-trip, as Python's repr does.
  const [mantissa, exponent] = Math.abs(x).toExponential().split("e");
  const digits = mantissa.replace(".", "");
  const decpt = Number(exponent) + 1; // value = 0.DIGITS × 10^decpt
  if (decpt <= -4 || decpt > 16) {
    const exp = decpt - 1;
    const m = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    return `${sign}${m}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  }
  if (decpt <= 0) return `${sign}0.${"0".repeat(-decpt)}${digits}`;
  if (decpt >= digits.length) return `${sign}${digits}${"0".repeat(decpt - digits.length)}.0`;
  return `${sign}${digits.slice(0, decpt)}.${digits.slice(decpt)}`;
}

const SHORT_ESCAPES: Record<string, string> = {
  "\\": "\\\\",
  '"': '\\"',
  "\b": "\\b",
  "\f": "\\f",
  "\n": "\\n",
  "\r": "\\r",
  "\t": "\\t",
};

const hex4 = (n: number) => `\\u${n.toString(16).padStart(4, "0")}`;

/** A JSON string literal as Python writes it (ensure_ascii: everything outside ' '..'~' escaped). */
export function pyString(s: string, ensureAscii = true): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (SHORT_ESCAPES[ch]) out += SHORT_ESCAPES[ch];
    else if (cp < 0x20) out += hex4(cp);
    else if (!ensureAscii || (cp >= 0x20 && cp <= 0x7e)) out += ch;
    else if (cp < 0x10000) out += hex4(cp);
    else {
      const v = cp - 0x10000;
      out += hex4(0xd800 | (v >> 10)) + hex4(0xdc00 | (v & 0x3ff));
    }
  }
  return `${out}"`;
}

/** Python compares str keys by code point (JavaScript's sort() compares UTF-16 units). */
function byCodePoint(a: string, b: string): number {
  const x = [...a].map((c) => c.codePointAt(0)!);
  const y = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

/** `json.dumps(value, sort_keys=…, separators=…, ensure_ascii=…)`. */
export function pyDumps(value: PyValue, options: DumpsOptions = {}): string {
  const [item, key] = options.separators ?? [", ", ": "];
  const ascii = options.ensureAscii ?? true;
  const enc = (v: PyValue): string => {
    if (v === null) return "null";
    if (v === true) return "true";
    if (v === false) return "false";
    if (typeof v === "bigint") return v.toString();
    if (typeof v === "number") {
      if (!Number.isInteger(v)) throw new Error(`${v} is not a Python int: wrap floats in PyFloat`);
      return BigInt(v).toString();
    }
    if (typeof v === "string") return pyString(v, ascii);
    if (v instanceof PyFloat) return pyFloatRepr(v.value);
    if (v instanceof PyDecimal) return v.text;
    if (Array.isArray(v)) return `[${v.map(enc).join(item)}]`;
    const keys = Object.keys(v);
    if (options.sortKeys) keys.sort(byCodePoint);
    return `{${keys.map((k) => `${pyString(k, ascii)}${key}${enc(v[k])}`).join(item)}}`;
  };
  return enc(value);
}
