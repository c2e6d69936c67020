/**
 * Field readers for the IBR details: each takes a value and its dotted path, returns the normalised value or
 * undefined, and pushes a problem naming the path. Shared by the beneficiary and programme readers.
 */
import { normaliseDate, numberText } from "../../registry/attributes.ts";
import { codeLabel, type CodeList } from "./codes.ts";

/** A JSON object. */
export type Obj = Record<string, unknown>;

/** True for a plain object. */
export function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A client value in an error message, at most 60 characters of its JSON. */
export function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function absent(v: unknown): boolean {
  return v === undefined || v === null || v === "";
}

/** The problems of one record and the readers that add to them. */
export class FieldReader {
  constructor(readonly errors: string[]) {}

  /** Refuses every key of `o` not in `known` (naming it), returns `o` for chaining. */
  known(o: Obj, path: string, known: readonly string[]): Obj {
    for (const k of Object.keys(o)) {
      if (!known.includes(k)) this.errors.push(`${path}.${k.slice(0, 60)}: unknown field`);
    }
    return o;
  }

  /** A trimmed string of at most `max` characters (numbers read as their text). */
  text(v: unknown, path: string, max = 256): string | undefined {
    if (absent(v)) return undefined;
    if (typeof v === "number") return numberText(path, v, this.errors);
    if (typeof v !== "string" || v.length > max) {
      this.errors.push(`${path}: expected a string of at most ${max} characters`);
      return undefined;
    }
    return v.trim() || undefined;
  }

  /** A required trimmed string. */
  required(v: unknown, path: string, max = 256): string | undefined {
    const s = this.text(v, path, max);
    if (s === undefined && absent(v)) this.errors.push(`${path}: required`);
    return s;
  }

  /** An identifier-like code: `[A-Za-z0-9._:/-]{1,64}`. */
  code(v: unknown, path: string, required: boolean): string | undefined {
    const s = required ? this.required(v, path, 64) : this.text(v, path, 64);
    if (s !== undefined && !/^[A-Za-z0-9._:/-]{1,64}$/.test(s)) {
      this.errors.push(`${path}: ${show(s)} must match [A-Za-z0-9._:/-]{1,64}`);
      return undefined;
    }
    return s;
  }

  /** A date (or date-time: its date part), normalised to YYYY-MM-DD. */
  date(v: unknown, path: string, required = false): string | undefined {
    if (absent(v)) {
      if (required) this.errors.push(`${path}: required`);
      return undefined;
    }
    const d = normaliseDate(v);
    if (!d) this.errors.push(`${path}: ${show(v)} is not a date (YYYY-MM-DD)`);
    return d;
  }

  /** A value of a code list, as its label. */
  label(list: CodeList, v: unknown, path: string, required = false): string | undefined {
    if (absent(v)) {
      if (required) this.errors.push(`${path}: required`);
      return undefined;
    }
    const l = codeLabel(list, v);
    if (l === undefined) {
      this.errors.push(
        `${path}: ${show(v)} is not in ${list.name} (${list.labels.join(", ")})`.slice(0, 400),
      );
    }
    return l;
  }

  /** A non-negative integer up to `max`. */
  integer(v: unknown, path: string, max = 1_000_000_000): number | undefined {
    if (absent(v)) return undefined;
    const n = typeof v === "number" ? v : typeof v === "string" && v.trim() ? Number(v) : NaN;
    if (!Number.isInteger(n) || n < 0 || n > max) {
      this.errors.push(`${path}: expected an integer from 0 to ${max}`);
      return undefined;
    }
    return n;
  }

  /** A list of at most `max` items (one value reads as a list of one), each read by `item`. */
  list<T>(v: unknown, path: string, max: number, item: (x: unknown, path: string) => T | undefined): T[] {
    if (absent(v)) return [];
    const list = Array.isArray(v) ? v : [v];
    if (list.length > max) {
      this.errors.push(`${path}: at most ${max} items`);
      return [];
    }
    const out: T[] = [];
    list.forEach((x, i) => {
      const r = item(x, `${path}[${i}]`);
      if (r !== undefined) out.push(r);
    });
    return out;
  }

  /** An object (or the problem `expected an object`). */
  object(v: unknown, path: string): Obj | undefined {
    if (isObj(v)) return v;
    this.errors.push(`${path}: expected an object`);
    return undefined;
  }
}

/** Drops undefined fields and empty lists (except the lists named in `keep`). */
export function compact<T extends Obj>(o: T, keep: readonly string[] = []): T {
  const out: Obj = {};
  for (const [k, v] of Object.entries(o)) {
    if (v === undefined || (Array.isArray(v) && v.length === 0 && !keep.includes(k))) continue;
    out[k] = v;
  }
  return out as T;
}
