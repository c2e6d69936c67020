/**
 * Reads input (import rows, admin API bodies, demo records) against the DR class declarations: every field
 * checked, bounded and normalised (codes to their labels, identifier types upper case, dates to UTC
 * date-times), every unknown field refused by its path (`details.disability_details[0].colour: unknown field`).
 */
import type { ClassDef, Field } from "./classes.ts";
import { codeLabel, labels } from "./codes.ts";
import { relationshipCode } from "./relationship.ts";
import { normaliseDate, normaliseIdType, numberText } from "../../registry/attributes.ts";
import { show } from "../../registry/query_parse.ts";
import { DATE_TIME } from "../../dci/schemas.ts";
import { MAX_TIMESTAMP } from "../../dci/limits.ts";

type Json = Record<string, unknown>;

/** More keys than this in one input object is refused before any is read. */
const MAX_KEYS = 64;

function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function empty(v: unknown): boolean {
  return v === undefined || v === null || v === "";
}

/** A date or a date-time with zone, as a UTC date-time; undefined when it is neither. */
export function normaliseDateTime(raw: unknown): string | undefined {
  if (typeof raw !== "string" || raw.length > MAX_TIMESTAMP) return undefined;
  const s = raw.trim();
  const day = normaliseDate(s);
  if (day === s) return `${day}T00:00:00.000Z`;
  if (!day || !DATE_TIME.test(s)) return undefined;
  const ms = Date.parse(s);
  return Number.isNaN(ms) ? undefined : new Date(ms).toISOString();
}

/** One property's value, normalised; pushes an error naming `path` when it is invalid. */
function readField(field: Field, v: unknown, path: string, errors: string[]): unknown {
  switch (field.kind) {
    case "code": {
      const label = codeLabel(field.codes, v);
      if (label === undefined) {
        errors.push(
          `${path}: ${show(v)} is not a ${field.codes.name} code (${labels(field.codes).join(", ")})`,
        );
      }
      return label;
    }
    case "relationship": {
      const code = relationshipCode(v);
      if (code === undefined) errors.push(`${path}: ${show(v)} is not a RelationshipTypeEnum code`);
      return code;
    }
    case "idType": {
      const type = normaliseIdType(v);
      if (type === undefined) errors.push(`${path}: ${show(v)} is not an identifier type`);
      return type;
    }
    case "text": {
      const s = typeof v === "number" ? numberText(path, v, errors) : v;
      if (s === undefined) return undefined;
      if (typeof s !== "string" || s.length > field.max || !s.trim()) {
        errors.push(`${path}: expected a string of 1 to ${field.max} characters`);
        return undefined;
      }
      return s.trim();
    }
    case "dateTime": {
      const d = normaliseDateTime(v);
      if (d === undefined) errors.push(`${path}: ${show(v)} is not an ISO 8601 date or date-time with zone`);
      return d;
    }
    case "object":
      return readClass(field.cls, v, path, errors);
    case "list":
      return readList(field.cls, field.max, v, path, errors);
  }
}

function readList(
  cls: ClassDef,
  max: number,
  v: unknown,
  path: string,
  errors: string[],
): Json[] | undefined {
  // One object where a list is expected (as the DR yaml's own example writes human_assistance) is a list of one;
  // an object keyed "0", "1", ... (an import row's indexed columns) is the list in index order.
  const indexed = isObject(v) && Object.keys(v).length > 0 &&
    Object.keys(v).every((k) => /^\d{1,2}$/.test(k));
  const items = Array.isArray(v)
    ? v
    : indexed
    ? Object.keys(v).sort((a, b) => Number(a) - Number(b)).map((k) => v[k])
    : [v];
  if (items.length > max) {
    errors.push(`${path}: at most ${max} entries`);
    return undefined;
  }
  const out: Json[] = [];
  items.forEach((item, i) => {
    const read = readClass(cls, item, `${path}[${i}]`, errors);
    if (read !== undefined) out.push(read);
  });
  return out.length ? out : undefined;
}

/**
 * Reads one object of class `cls`; undefined when it has no value at all (an import row's empty columns).
 * Each problem is pushed to `errors` as `path.field: reason`.
 */
export function readClass(cls: ClassDef, raw: unknown, path: string, errors: string[]): Json | undefined {
  if (!isObject(raw)) {
    errors.push(`${path}: expected an object`);
    return undefined;
  }
  const keys = Object.keys(raw);
  if (keys.length > MAX_KEYS) {
    errors.push(`${path}: more than ${MAX_KEYS} fields`);
    return undefined;
  }
  const out: Json = {};
  const before = errors.length;
  for (const key of keys) {
    const name = cls.aliases && Object.hasOwn(cls.aliases, key) ? cls.aliases[key] : key;
    if (!Object.hasOwn(cls.fields, name)) {
      const shown = JSON.stringify(key).slice(1, -1);
      errors.push(`${path}.${shown.length > 60 ? `${shown.slice(0, 57)}...` : shown}: unknown field`);
      continue;
    }
    if (empty(raw[key])) continue;
    if (name in out) {
      errors.push(`${path}.${key}: ${name} is given twice`);
      continue;
    }
    const value = readField(cls.fields[name], raw[key], `${path}.${key}`, errors);
    if (value !== undefined) out[name] = value;
  }
  if (Object.keys(out).length === 0) return undefined;
  for (const name of cls.required ?? []) {
    if (!(name in out) && errors.length === before) errors.push(`${path}.${name}: required`);
  }
  return out;
}
