/**
 * Shape guards for JSON text, checked before anything walks it: a nesting depth (so recursive walkers such as
 * canonical JSON and the query compiler never overflow) and a length cap on every string (so no pattern, parser
 * or store ever sees an unbounded one).
 */

/** Deepest array/object nesting a request body may have; real DCI messages stay far below it. */
export const MAX_JSON_DEPTH = 64;

/** The limit a JSON text breaks first, if any. */
export type JsonLimit = "depth" | "string";

/**
 * Scans `text` once: "depth" when arrays/objects nest deeper than `maxDepth` (brackets inside strings do not
 * count), "string" when a string (key or value) is longer than `maxString` characters (an escape counts as one).
 */
export function jsonLimitBroken(
  text: string,
  limits: { maxDepth?: number; maxString?: number } = {},
): JsonLimit | undefined {
  const maxDepth = limits.maxDepth ?? MAX_JSON_DEPTH;
  const maxString = limits.maxString ?? Infinity;
  let depth = 0;
  let inString = false;
  let length = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 34) inString = false;
      else {
        if (c === 92) i += text.charCodeAt(i + 1) === 117 ? 5 : 1; // \uXXXX or \x: one character
        if (++length > maxString) return "string";
      }
    } else if (c === 34) {
      inString = true;
      length = 0;
    } else if (c === 91 || c === 123) {
      if (++depth > maxDepth) return "depth";
    } else if (c === 93 || c === 125) depth--;
  }
  return undefined;
}

/** True when `text` nests arrays/objects deeper than `max` (brackets inside strings do not count). */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  return jsonLimitBroken(text, { maxDepth: max }) === "depth";
}

/** The path (`header.message_id`, `message.items.0`) of the first string in `value` longer than `max`. */
export function longStringPath(value: unknown, max: number, path: string[] = []): string | undefined {
  if (typeof value === "string") return value.length > max ? path.join(".") || "(body)" : undefined;
  if (typeof value !== "object" || value === null) return undefined;
  for (const [key, child] of Object.entries(value)) {
    if (key.length > max) return [...path, `${key.slice(0, 20)}…`].join(".");
    const found = longStringPath(child, max, [...path, key]);
    if (found !== undefined) return found;
  }
  return undefined;
}
