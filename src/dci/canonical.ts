/** Canonical JSON for envelope digests: sorted keys, no whitespace, in two string-escaping variants. */

/** Serialises `value` with object keys sorted (by UTF-16 code units, as RFC 8785) and no whitespace. */
export function canonicalJson(value: unknown, options: { asciiEscape?: boolean } = {}): string {
  const out = serialise(value);
  return options.asciiEscape ? escapeNonAscii(out) : out;
}

function serialise(value: unknown): string {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return "null";
    return JSON.stringify(value) ?? "null";
  }
  if (Array.isArray(value)) return `[${value.map((v) => v === undefined ? "null" : serialise(v)).join(",")}]`;
  const obj = value as Record<string, unknown>;
  const keys = Object.keys(obj).filter((k) => obj[k] !== undefined).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${serialise(obj[k])}`).join(",")}}`;
}

/** Replaces every non-ASCII UTF-16 unit by `\uXXXX`, as Python's `json.dumps(ensure_ascii=True)` emits. */
function escapeNonAscii(json: string): string {
  // deno-lint-ignore no-control-regex
  return json.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}
