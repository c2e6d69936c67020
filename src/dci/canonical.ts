/**
 * Canonical JSON for envelope digests: sorted keys, no whitespace, in two string-escaping variants, and (for
 * verification only) with each number written as the sender wrote it. The one implementation is the sender SDK's
 * (sdk/src/canonical.ts, which partners copy and which imports nothing of the server), so what the server hashes
 * and what the SDK hashes cannot drift apart; this module keeps the server's call shape.
 */
import {
  canonicalForms as sdkCanonicalForms,
  canonicalJson as sdkCanonicalJson,
  NumberLiteral,
  parseKeepingNumberLiterals,
} from "../../sdk/src/canonical.ts";

/**
 * A number kept as its source text (`5.0`, `1e-07`, `2.50`), because a Python signer hashed that text and
 * JSON.stringify would write `5`, `1e-7`, `2.5`. Only verification builds these; our own signing never does.
 * `parseKeepingNumberLiterals(text)` re-reads a body keeping them (undefined when it has none).
 */
export { NumberLiteral, parseKeepingNumberLiterals };

/** Serialises `value` with object keys sorted (by UTF-16 code units, as RFC 8785) and no whitespace. */
export function canonicalJson(value: unknown, options: { asciiEscape?: boolean } = {}): string {
  return sdkCanonicalJson(value, options.asciiEscape ? "python" : "jcs");
}

/**
 * The two canonical forms a signer may have hashed, most likely first: ASCII-escaped (Python's
 * `json.dumps(sort_keys=True, separators=(",", ":"))`, and what we sign) and RFC 8785 (JCS). One entry when the
 * text has nothing to escape, where both are the same bytes.
 */
export function canonicalForms(value: unknown): string[] {
  return sdkCanonicalForms(value);
}
