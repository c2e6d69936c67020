/**
 * Canonical JSON for envelope digests: sorted keys, no whitespace, in two string-escaping variants, and (for
 * verification only) with each number written as the sender wrote it.
 */

/**
 * A number kept as its source text (`5.0`, `1e-07`, `2.50`), because a Python signer hashed that text and
 * JSON.stringify would write `5`, `1e-7`, `2.5`. Only verification builds these; our own signing never does.
 */
export class NumberLiteral {
  constructor(readonly source: string) {}
}

/** Serialises `value` with object keys sorted (by UTF-16 code units, as RFC 8785) and no whitespace. */
export function canonicalJson(value: unknown, options: { asciiEscape?: boolean } = {}): string {
  const out = serialise(value);
  return options.asciiEscape ? escapeNonAscii(out) : out;
}

/**
 * The two canonical forms a signer may have hashed, most likely first: ASCII-escaped (Python's
 * `json.dumps(sort_keys=True, separators=(",", ":"))`, and what we sign) and RFC 8785 (JCS). One entry when the
 * text has nothing to escape, where both are the same bytes.
 */
export function canonicalForms(value: unknown): string[] {
  const jcs = serialise(value);
  return PY_ESCAPED.test(jcs) ? [escapeNonAscii(jcs), jcs] : [jcs];
}

/**
 * Re-reads `text` keeping the source text of every number JSON.stringify would write differently (`5.0`,
 * `1e-07`, `-0`, `1.50`, integers past 2^53); undefined when there is none, so the value already parsed from the
 * same text canonicalises to the same bytes. Uses JSON.parse source-text access (V8), so it is as strict as
 * JSON.parse.
 */
export function parseKeepingNumberLiterals(text: string): unknown | undefined {
  let kept = false;
  const value = JSON.parse(text, (_key: string, v: unknown, context?: { source?: string }) => {
    if (typeof v !== "number" || context?.source === undefined || context.source === String(v)) return v;
    kept = true;
    return new NumberLiteral(context.source);
  });
  return kept ? value : undefined;
}

/**
 * One pass appending to a string: every envelope signed or verified goes through here (twice per signed
 * search), and building an array of parts per object and array, then joining it, was a third of the request's
 * allocations. An `undefined` in an array (or a hole) is written `null`, an `undefined` property left out.
 */
function serialise(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return "null";
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) {
    let out = "[";
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      out += (i === 0 ? "" : ",") + (v === undefined ? "null" : serialise(v));
    }
    return out + "]";
  }
  if (value instanceof NumberLiteral) return value.source;
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

/** What Python's `ensure_ascii` escapes beyond JSON.stringify: every code unit outside 0x00–0x7e (DEL too). */
// deno-lint-ignore no-control-regex
const PY_ESCAPED = /[^\x00-\x7e]/;
// deno-lint-ignore no-control-regex
const PY_ESCAPED_ALL = /[^\x00-\x7e]/g;

/**
 * Replaces every UTF-16 unit outside 0x00–0x7e by `\uXXXX` (lowercase hex), as Python's
 * `json.dumps(ensure_ascii=True)` emits: non-ASCII (astral characters as their surrogate pair) and DEL. Control
 * characters below 0x20 are already escaped by JSON.stringify exactly as Python escapes them.
 */
function escapeNonAscii(json: string): string {
  return json.replace(PY_ESCAPED_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
