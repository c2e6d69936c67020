/**
 * Canonical JSON for DCI envelope digests: keys sorted by UTF-16 code units, no whitespace, in the two forms the
 * server accepts: RFC 8785 (JCS) strings and Python's `json.dumps(sort_keys=True, separators=(",", ":"))`
 * (ASCII-escaped). Numbers may be kept as written (`5.0`, `1e-07`) with NumberLiteral.
 */

/** The two canonical forms: `"python"` (ASCII-escaped, what the server signs with) and `"jcs"` (RFC 8785). */
export type CanonicalForm = "python" | "jcs";

/**
 * A number kept as its source text (`5.0`, `1e-07`), because a Python signer hashed that text and
 * JSON.stringify would write `5`, `1e-7`. Put one in a message to send a number exactly as written: toJson() and
 * canonicalJson() both write its text.
 */
export class NumberLiteral {
  /** `source` must be a JSON number literal. */
  constructor(readonly source: string) {
    if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(source)) {
      throw new TypeError(`not a JSON number: ${JSON.stringify(source)}`);
    }
  }
}

/** Serialises `value` with sorted keys and no whitespace, in the given form (default `"python"`). */
export function canonicalJson(
  value: unknown,
  form: CanonicalForm = "python",
): string {
  const out = nativeSorted(value) ?? serialise(value);
  return form === "python" ? escapeNonAscii(out) : out;
}

/**
 * The canonical forms a signer may have hashed, Python's first: one entry when the text has nothing to escape,
 * where both are the same bytes.
 */
export function canonicalForms(value: unknown): string[] {
  const jcs = serialise(value);
  return NON_ASCII.test(jcs) ? [escapeNonAscii(jcs), jcs] : [jcs];
}

/**
 * JSON text of `value` as a request body: like JSON.stringify, except that NumberLiterals keep their text (keys
 * are sorted, which any JSON reader accepts).
 */
export function toJson(value: unknown): string {
  return serialise(value);
}

/**
 * Re-reads `text` keeping the source text of every number JSON.stringify would write differently; undefined when
 * there is none or the runtime lacks JSON.parse source text access (Deno, Node ≥ 21 have it; Node 20 does not).
 */
export function parseKeepingNumberLiterals(text: string): unknown | undefined {
  let kept = false;
  const value = JSON.parse(
    text,
    (_key: string, v: unknown, context?: { source?: string }) => {
      if (
        typeof v !== "number" || context?.source === undefined ||
        context.source === String(v)
      ) return v;
      kept = true;
      return new NumberLiteral(context.source);
    },
  );
  return kept ? value : undefined;
}

/**
 * One pass appending to a string: the server signs and verifies every envelope through here (twice per signed
 * search), and building an array of parts per object and array, then joining it, was a third of a request's
 * allocations. An `undefined` in an array (or a hole) is written `null`, an `undefined` property left out.
 */
function serialise(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return "null";
    return JSON.stringify(value) ?? "null";
  }
  if (value instanceof NumberLiteral) return value.source;
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      out += (i === 0 ? "" : ",") + (v === undefined ? "null" : serialise(v));
    }
    return out + "]";
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  let out = "{";
  for (const k of keys) {
    const v = obj[k];
    if (v === undefined) continue;
    out += (out.length === 1 ? "" : ",") + JSON.stringify(k) + ":" + serialise(v);
  }
  return out + "}";
}

/** Thrown by sortedCopy where the native writer would not write what serialise writes. */
const NOT_NATIVE = Symbol("not native");

/**
 * The canonical text written by JSON.stringify over a copy of `value` whose objects hold their keys in sorted
 * order: the same bytes as serialise, about three times faster on a large answer (a bulk search page of 1,000
 * records). Undefined, for serialise to write it, when the value holds what JSON.stringify would write
 * differently: a NumberLiteral, a function or symbol property (left out there, null here), a key that objects
 * enumerate before the others whatever their order (an integer-like key) or that a copy cannot hold
 * (`__proto__`). Small and primitive values go to serialise directly.
 */
function nativeSorted(value: unknown): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  try {
    return JSON.stringify(sortedCopy(value));
  } catch (err) {
    if (err === NOT_NATIVE) return undefined;
    throw err;
  }
}

function sortedCopy(value: unknown): unknown {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof NumberLiteral) throw NOT_NATIVE;
  if (Array.isArray(value)) {
    const copy = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy[i] = sortedCopy(value[i]);
    return copy;
  }
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).sort();
  const copy: Record<string, unknown> = {};
  for (const k of keys) {
    const c = k.charCodeAt(0);
    if ((c >= 48 && c <= 57) || k === "__proto__") throw NOT_NATIVE;
    const v = obj[k];
    if (v === undefined) continue;
    if (typeof v === "function" || typeof v === "symbol") throw NOT_NATIVE;
    copy[k] = sortedCopy(v);
  }
  return copy;
}

// Python's ensure_ascii escapes every UTF-16 unit outside 0x00–0x7e (DEL too); controls are already escaped.
// deno-lint-ignore no-control-regex
const NON_ASCII = /[^\x00-\x7e]/;
// deno-lint-ignore no-control-regex
const NON_ASCII_ALL = /[^\x00-\x7e]/g;

function escapeNonAscii(json: string): string {
  return json.replace(
    NON_ASCII_ALL,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}
