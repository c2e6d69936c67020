/**
 * Shape guards for JSON text, checked before anything walks it: a nesting depth (so recursive walkers such as
 * canonical JSON and the query compiler never overflow), a count of values in all and of members in any one
 * array or object (so a body the schema refuses anyway is not first parsed, canonicalised and signature-checked
 * at a cost that grows with it), and a length cap on every string (so no pattern, parser or store ever sees an
 * unbounded one).
 */

/** Deepest array/object nesting a request body may have; real DCI messages stay far below it. */
export const MAX_JSON_DEPTH = 64;
/**
 * Most members (elements, or key/value pairs) one array or object of a request body may have. The largest legal
 * arrays hold 1,000: search or subscribe items at the highest DCI_MAX_SEARCH_ITEMS, IBR beneficiaries, receipt
 * beneficiaries; a little above, so that 1,001 of them still gets the schema's own message naming the field.
 */
export const MAX_JSON_MEMBERS = 1024;
/**
 * Fewest values (array elements and object members, nested ones included) a request body may always hold: about
 * twice the largest legal messages of the demo's shapes, an IBR enrollment update of 1,000 beneficiaries (~27,000),
 * a search of 1,000 simple items (~23,000), one of 10 items at the query caps (~14,000). Compact JSON of households
 * needs more in a full body: valuesCap scales it with the body limit.
 */
export const MAX_JSON_VALUES = 50_000;

/** The values a body of at most `bodyLimit` bytes may hold: MAX_JSON_VALUES, or one per 8 bytes when that is more. */
export function valuesCap(bodyLimit: number): number {
  return Math.max(MAX_JSON_VALUES, Math.floor(bodyLimit / 8));
}

/** The limit a JSON text breaks first, if any. */
export type JsonLimit = "depth" | "members" | "values" | "string" | "nul" | "number";

/** The limits jsonLimitBroken checks; depth, members and values default to the MAX_JSON_ constants. */
export interface JsonLimits {
  maxDepth?: number;
  maxMembers?: number;
  maxValues?: number;
  maxString?: number;
}

/**
 * Scans `text` once: "depth" when arrays/objects nest deeper than `maxDepth`, "members" when one array or object
 * has more than `maxMembers` members, "values" when all of them together have more than `maxValues`, "string"
 * when a string (key or value) is longer than `maxString` characters (an escape counts as one; reported only when
 * no other limit is broken), "nul" when a string holds a NUL character (`\u0000`; reported before "string"),
 * "number" when a number may be too large to be finite (over 300 digits in a row, or a positive exponent of three
 * digits or more: `1e999` parses to Infinity; reported last, for the parsed value to tell). Brackets and commas
 * inside strings do not count; an empty array or object counts as one member of its own.
 */
export function jsonLimitBroken(text: string, limits: JsonLimits = {}): JsonLimit | undefined {
  const maxDepth = limits.maxDepth ?? MAX_JSON_DEPTH;
  const maxMembers = limits.maxMembers ?? MAX_JSON_MEMBERS;
  const maxValues = limits.maxValues ?? MAX_JSON_VALUES;
  const maxString = limits.maxString ?? Infinity;
  // Members of each open array/object by depth: its commas plus one.
  const members: number[] = [];
  let depth = 0;
  let values = 0;
  let inString = false;
  let length = 0;
  // A long string is reported last: the scan goes on, so that it cannot hide a width or depth the body breaks.
  let longString = false;
  // A NUL (`\u0000`) in a string, likewise: no field may hold one (PostgreSQL text cannot store it).
  let nul = false;
  // Digits in a row outside strings, and whether a number may not be finite.
  let digits = 0;
  let bigNumber = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 34) inString = false;
      else {
        if (c === 92) {
          // \uXXXX or \x: one character
          if (text.charCodeAt(i + 1) === 117) {
            if (text.startsWith("0000", i + 2)) nul = true;
            i += 5;
          } else i += 1;
        }
        if (++length > maxString) longString = true;
      }
    } else if (c >= 48 && c <= 57) {
      if (++digits > 300) bigNumber = true;
      continue;
    } else if ((c === 101 || c === 69) && digits > 0) {
      // An exponent: its digits, leading zeros left out (a negative one makes no number larger).
      let j = i + 1;
      const negative = text.charCodeAt(j) === 45;
      if (negative || text.charCodeAt(j) === 43) j++;
      while (text.charCodeAt(j) === 48) j++;
      let n = 0;
      for (let d = text.charCodeAt(j); d >= 48 && d <= 57; d = text.charCodeAt(++j)) n++;
      if (n >= 3 && !negative) bigNumber = true;
      i = j - 1;
    } else if (c === 34) {
      inString = true;
      length = 0;
    } else if (c === 44) {
      if (++members[depth] > maxMembers) return "members";
      if (++values > maxValues) return "values";
    } else if (c === 91 || c === 123) {
      if (++depth > maxDepth) return "depth";
      members[depth] = 1;
      if (++values > maxValues) return "values";
    } else if (c === 93 || c === 125) depth--;
    digits = 0;
  }
  return nul ? "nul" : longString ? "string" : bigNumber ? "number" : undefined;
}

/** The rule a JSON text broke, as error messages state it ("string" and "nul" are stated with the string's path). */
function jsonLimitRule(limit: Exclude<JsonLimit, "string" | "nul" | "number">, limits: JsonLimits): string {
  switch (limit) {
    case "depth":
      return `JSON nested deeper than ${limits.maxDepth ?? MAX_JSON_DEPTH} levels`;
    case "members":
      return `a JSON array or object has more than ${limits.maxMembers ?? MAX_JSON_MEMBERS} members`;
    case "values":
      return `JSON holds more than ${limits.maxValues ?? MAX_JSON_VALUES} values`;
  }
}

/** What parseBoundedJson made of a JSON text: its value, or why it was refused ("malformed": not JSON at all). */
export type BoundedJson = { ok: true; value: unknown } | { ok: false; malformed: boolean; reason: string };

/**
 * Parses JSON text held to `limits`: depth, width and count are checked before it is parsed; a NUL or an
 * overlong string is named by its path after (from `root`, when the text is the value of that field).
 */
export function parseBoundedJson(
  text: string,
  limits: JsonLimits & { maxString: number },
  root?: string,
): BoundedJson {
  const broken = jsonLimitBroken(text, limits);
  if (broken !== undefined && broken !== "string" && broken !== "nul" && broken !== "number") {
    return { ok: false, malformed: false, reason: jsonLimitRule(broken, limits) };
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return { ok: false, malformed: true, reason: "not JSON" };
  }
  if (broken === undefined) return { ok: true, value };
  const named = root === undefined ? value : { [root]: value };
  if (broken === "number") {
    // A signature would not tell it from `null` (canonical JSON writes a non-finite number so).
    const path = badPath(named, (v) => typeof v === "number" && !Number.isFinite(v), () => false, (k) => k);
    if (path === undefined) return { ok: true, value };
    return { ok: false, malformed: false, reason: `${path} is a number too large to be finite` };
  }
  const reason = broken === "nul"
    ? `${nulPath(named)} holds a NUL character (\\u0000), which no field may`
    : `${longStringPath(named, limits.maxString)} is longer than ${limits.maxString} characters`;
  return { ok: false, malformed: false, reason };
}

/** True when `text` nests arrays/objects deeper than `max` (brackets inside strings do not count). */
export function jsonTooDeep(text: string, max = MAX_JSON_DEPTH): boolean {
  return jsonLimitBroken(text, { maxDepth: max, maxMembers: Infinity, maxValues: Infinity }) === "depth";
}

/** The path (`header.message_id`, `message.items.0`) of the first string (key or value) in `value` holding a NUL. */
export function nulPath(value: unknown): string | undefined {
  return badStringPath(value, (s) => s.includes("\0"), (key) => JSON.stringify(key).slice(1, 21));
}

/** The path (`header.message_id`, `message.items.0`) of the first string in `value` longer than `max`. */
function longStringPath(value: unknown, max: number): string | undefined {
  return badStringPath(value, (s) => s.length > max, (key) => `${key.slice(0, 20)}…`);
}

/** The path of the first string (key or value) of `value` that is `bad`; a bad key shown as `label` writes it. */
function badStringPath(
  value: unknown,
  bad: (s: string) => boolean,
  label: (key: string) => string,
): string | undefined {
  return badPath(value, (v) => typeof v === "string" && bad(v), bad, label);
}

/**
 * The path of the first value of `value` that is `bad`, or of the first key that is `badKey` (shown as `label`), in
 * document order, clipped to MAX_PATH characters. Iterative, the path kept as one stack: a body nested thousands
 * deep (the NUL check runs before the admin token's) costs a walk linear in its size, and overflows no call stack.
 */
function badPath(
  value: unknown,
  bad: (v: unknown) => boolean,
  badKey: (key: string) => boolean,
  label: (key: string) => string,
): string | undefined {
  if (typeof value !== "object" || value === null) return bad(value) ? "(body)" : undefined;
  const path: string[] = [];
  const frames: Array<Iterator<[string, unknown]>> = [Object.entries(value)[Symbol.iterator]()];
  while (frames.length > 0) {
    const next = frames[frames.length - 1].next();
    if (next.done) {
      frames.pop();
      path.pop(); // the root frame has no key: popping an empty path is no-op
      continue;
    }
    const [key, child] = next.value;
    if (badKey(key)) return clipPath([...path, label(key)].join("."));
    if (typeof child === "object" && child !== null) {
      path.push(key);
      frames.push(Object.entries(child)[Symbol.iterator]());
    } else if (bad(child)) return clipPath([...path, key].join(".") || "(body)"); // a top-level "" key
  }
  return undefined;
}

/** The longest path a message names (a body nested thousands deep would name one of as many keys). */
const MAX_PATH = 200;

function clipPath(path: string): string {
  return path.length > MAX_PATH ? `${path.slice(0, MAX_PATH)}…` : path;
}
