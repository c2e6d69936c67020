/**
 * Field readers for the farmer registry's `details`: every value bounded and normalised, every problem pushed
 * to `errors` naming the field as the client wrote it (`details.farms[0].land_size: expected a number`).
 */
import { normaliseInstant, numberText } from "../../registry/attributes.ts";
import { type CodeList, readCode } from "./codes.ts";

/** A JSON object. */
export type Obj = Record<string, unknown>;

/** At most this many problems are reported per record (a hostile record cannot make the report huge). */
export const MAX_ERRORS = 50;

/** Pushes a problem unless the record already has MAX_ERRORS. */
export function fail(errors: string[], message: string): void {
  if (errors.length < MAX_ERRORS) errors.push(message);
}

/** True for a plain JSON object. */
export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A client value in an error message, at most 60 characters of its JSON. */
export function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** Field spec: canonical name → other names accepted for it. */
export type Fields = Readonly<Record<string, readonly string[]>>;

/** A compiled field spec: every accepted name → its canonical name (compile once, at module load). */
export type FieldNames = ReadonlyMap<string, string>;

/** Compiles a field spec (a reader reads thousands of records a second: no per-record map building). */
export function fieldNames(...specs: Fields[]): FieldNames {
  const out = new Map<string, string>();
  for (const spec of specs) {
    for (const [name, aliases] of Object.entries(spec)) {
      out.set(name, name);
      for (const a of aliases) out.set(a, name);
    }
  }
  return out;
}

/** A field as given: the name the client used, its path as the client wrote it (for errors) and its value. */
export interface Given {
  key: string;
  path: string;
  value: unknown;
}

/**
 * The fields of `obj` by canonical name. A name not in `names` is refused (`path.x: unknown field`); a field
 * given under two of its names is refused; empty values (null, "") count as absent.
 */
export function pick(obj: Obj, path: string, names: FieldNames, errors: string[]): Map<string, Given> {
  const out = new Map<string, Given>();
  for (const key in obj) {
    const value = obj[key];
    const name = names.get(key);
    if (name === undefined) {
      fail(errors, `${path}.${key.slice(0, 60)}: unknown field`);
      continue;
    }
    if (value === undefined || value === null || value === "") continue;
    const before = out.get(name);
    if (before) {
      fail(errors, `${path}.${key}: the same field as ${before.path}`);
      continue;
    }
    out.set(name, { key, path: `${path}.${key}`, value });
  }
  return out;
}

/** A trimmed string of at most `max` characters (numbers are taken as text). */
export function readText(v: unknown, path: string, max: number, errors: string[]): string | undefined {
  if (typeof v === "number") return numberText(path, v, errors);
  if (typeof v !== "string" || v.length > max) {
    fail(errors, `${path}: expected a string of at most ${max} characters`);
    return undefined;
  }
  return v.trim() || undefined;
}

/** A number (or numeric string, as CSV gives them) within [min, max]; an integer when `integer`. */
export function readNumber(
  v: unknown,
  path: string,
  range: { min: number; max: number; integer?: boolean },
  errors: string[],
): number | undefined {
  const n = typeof v === "number" ? v : typeof v === "string" && v.trim() && v.length <= 32 ? Number(v) : NaN;
  if (!Number.isFinite(n) || (range.integer && !Number.isInteger(n)) || n < range.min || n > range.max) {
    const what = range.integer ? "an integer" : "a number";
    fail(errors, `${path}: expected ${what} from ${range.min} to ${range.max}, not ${show(v)}`);
    return undefined;
  }
  return n;
}

const TRUE = new Set(["true", "yes", "y", "1"]);
const FALSE = new Set(["false", "no", "n", "0"]);

/** A boolean (or `yes`/`no`, `1`/`0`, as CSV gives them). */
export function readBool(v: unknown, path: string, errors: string[]): boolean | undefined {
  if (typeof v === "boolean") return v;
  const s = typeof v === "number" ? String(v) : typeof v === "string" ? v.trim().toLowerCase() : undefined;
  if (s !== undefined && TRUE.has(s)) return true;
  if (s !== undefined && FALSE.has(s)) return false;
  fail(errors, `${path}: expected true or false, not ${show(v)}`);
  return undefined;
}

/** An ISO 8601 date or date-time, normalised to a UTC date-time (`2024-03-01` → `2024-03-01T00:00:00.000Z`). */
export function readStamp(v: unknown, path: string, errors: string[]): string | undefined {
  // A date-time without a zone is UTC on any host (Date.parse: the host's local time).
  const t = normaliseInstant(v);
  if (t === undefined) fail(errors, `${path}: ${show(v)} is not an ISO 8601 date or date-time`);
  return t;
}

/** One code of `list` (named `listName` in errors). */
export function readOneCode(
  v: unknown,
  path: string,
  code: { list: CodeList; name: string; aliases?: Readonly<Record<string, string>> },
  errors: string[],
): string | undefined {
  const c = readCode(code.list, v, code.aliases);
  if (c === undefined) {
    fail(
      errors,
      `${path}: ${show(v)} is not a ${code.name} code or label (${Object.keys(code.list).join(", ")})`,
    );
  }
  return c;
}

/** A list (an array, one value, or a string of values separated by `;` or `|`, as CSV gives it) of at most `max` items. */
export function readList(v: unknown, path: string, max: number, errors: string[]): unknown[] {
  const list = Array.isArray(v)
    ? v
    : typeof v === "string" && v.length <= 4096
    ? v.split(/[;|]/).map((s) => s.trim()).filter(Boolean)
    : [v];
  if (list.length > max) {
    fail(errors, `${path}: at most ${max} items`);
    return [];
  }
  return list;
}

/** A list of distinct codes of `list`. */
export function readCodes(
  v: unknown,
  path: string,
  code: { list: CodeList; name: string },
  errors: string[],
): string[] {
  const out: string[] = [];
  readList(v, path, 16, errors).forEach((x, i) => {
    const c = readOneCode(x, `${path}[${i}]`, code, errors);
    if (c !== undefined && !out.includes(c)) out.push(c);
  });
  return out;
}

/** True for `{}` (no own enumerable field). */
function isEmptyObject(v: unknown): boolean {
  if (!isObj(v)) return false;
  for (const _ in v) return false;
  return true;
}

/**
 * Drops undefined fields, empty objects and empty lists, and empty objects from lists (stored JSON stays small;
 * records carry no empty properties; an import row without farm columns has no farm). Written with `for…in`
 * and no intermediate arrays: it runs for every object of every imported record.
 */
export function compact<T extends object>(o: T): T {
  const out: Obj = {};
  for (const k in o) {
    let v: unknown = (o as Obj)[k];
    if (v === undefined || isEmptyObject(v)) continue;
    if (Array.isArray(v)) {
      if (v.some(isEmptyObject)) v = v.filter((x) => !isEmptyObject(x));
      if ((v as unknown[]).length === 0) continue;
    }
    out[k] = v;
  }
  return out as T;
}
