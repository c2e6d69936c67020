/**
 * The civil registry's part of a record (`Registrant.details`): the vital events recorded for the person, their
 * marital status and parents. Read from the input record's `details` object, validated, bounded and normalised
 * into one canonical form: every event in `vital_events` (a date each, sorted), the convenience fields
 * (`birth_place`, `death_place`, `marriage_date`, `divorce_date`) folded into events, and the core `birth_date` /
 * `death_date` agreeing with the live birth / death events (a `death_date` alone records a death).
 */
import type { IdentifierValue } from "../../registry/model.ts";
import { aliased } from "../../registry/aliases.ts";
import { normaliseDate, normaliseIdType, numberText } from "../../registry/attributes.ts";
import { type EventPlace, readPlace } from "./places.ts";
import {
  MARITAL_STATUS_CODES,
  type MaritalStatus,
  maritalStatus,
  ONCE_ONLY,
  VITAL_EVENT_TYPES,
  type VitalEventType,
  vitalEventType,
} from "./vocabulary.ts";

/** One vital event recorded for the person. */
export interface VitalEvent {
  type: VitalEventType;
  /** `YYYY-MM-DD`. */
  date: string;
  place?: EventPlace;
}

/** `Registrant.details` of a civil registry record, as stored (a type, not an interface: it is a JSON object). */
export type CrvsDetails = {
  vital_events: VitalEvent[];
  marital_status?: MaritalStatus;
  parent1_identifier?: IdentifierValue;
  parent2_identifier?: IdentifierValue;
};

/** At most this many events per person (a long life has a handful). */
export const MAX_EVENTS = 32;
const FIELDS = new Set([
  "vital_events",
  "birth_place",
  "death_place",
  "marital_status",
  "marriage_date",
  "divorce_date",
  "parent1_identifier",
  "parent2_identifier",
]);

type Obj = Record<string, unknown>;
/** An event being read: `from` names the input field it came from, for error messages. */
type Pending = Partial<VitalEvent> & { type: VitalEventType; from: string };

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** A list from a JSON array, a single value, or a CSV cell of `|`-separated values. */
function list(v: unknown): unknown[] {
  if (v === undefined || v === null || v === "") return [];
  if (Array.isArray(v)) return v;
  return typeof v === "string" ? v.split("|").map((s) => s.trim()).filter((s) => s !== "") : [v];
}

function date(v: unknown, field: string, errors: string[]): string | undefined {
  const d = normaliseDate(v);
  if (!d) errors.push(`${field}: ${show(v)} is not a date (YYYY-MM-DD)`);
  return d;
}

/** One event: `{type, date, place}`, or `TYPE:DATE` (the CSV form; the date follows the last `:`). */
function readEvent(raw: unknown, field: string, errors: string[]): Pending | undefined {
  let o: Obj;
  if (typeof raw === "string" && raw.length <= 256) {
    const at = raw.lastIndexOf(":");
    o = at > 0 && normaliseDate(raw.slice(at + 1))
      ? { type: raw.slice(0, at), date: raw.slice(at + 1) }
      : { type: raw };
  } else if (isObj(raw)) o = raw;
  else {
    errors.push(`${field}: expected {type, date, place}`);
    return undefined;
  }
  for (const k of Object.keys(o)) {
    if (k !== "type" && k !== "date" && k !== "place") errors.push(`${field}.${k}: unknown field`);
  }
  const type = vitalEventType(o.type);
  if (!type) errors.push(`${field}.type: ${show(o.type)} is not one of ${VITAL_EVENT_TYPES.join(", ")}`);
  const d = o.date === undefined || o.date === null || o.date === ""
    ? undefined
    : date(o.date, `${field}.date`, errors);
  const place = readPlace(o.place, `${field}.place`, errors);
  return type ? { type, date: d, place, from: field } : undefined;
}

function readIdentifier(raw: unknown, field: string, errors: string[]): IdentifierValue | undefined {
  if (raw === undefined || raw === null || raw === "") return undefined;
  let t: unknown, v: unknown;
  if (typeof raw === "string" && raw.length <= 200 && raw.includes(":")) {
    [t, v] = [raw.slice(0, raw.indexOf(":")), raw.slice(raw.indexOf(":") + 1)];
  } else if (isObj(raw)) {
    for (const k of Object.keys(raw)) {
      if (!["identifier_type", "identifier_value", "type", "value", "@type", "@id"].includes(k)) {
        errors.push(`${field}.${k}: unknown field`);
      }
    }
    [t, v] = [raw.identifier_type ?? raw.type, raw.identifier_value ?? raw.value];
  }
  const type = normaliseIdType(t);
  const value = typeof v === "number" ? numberText(field, v, errors) : typeof v === "string" ? v.trim() : "";
  if (value === undefined) return undefined;
  if (!type || !value || value.length > 128) {
    errors.push(`${field}: expected {identifier_type, identifier_value} or "TYPE:VALUE"`);
    return undefined;
  }
  return { type, value };
}

/**
 * Reads `raw.details` of an input record (`raw` is the whole record: its `birth_date` and `death_date` are
 * checked against the events). Problems are pushed to `errors`, each naming its field. Undefined when the record
 * records nothing civil-registry specific.
 */
export function readCrvsDetails(raw: Obj, errors: string[]): CrvsDetails | undefined {
  const src = raw.details ?? {};
  if (!isObj(src)) {
    errors.push("details: expected an object");
    return undefined;
  }
  for (const k of Object.keys(src)) if (!FIELDS.has(k)) errors.push(`details.${k}: unknown field`);
  const events: Pending[] = [];
  const raws = list(src.vital_events);
  if (raws.length > MAX_EVENTS) errors.push(`details.vital_events: at most ${MAX_EVENTS} events`);
  raws.slice(0, MAX_EVENTS).forEach((e, i) => {
    const ev = readEvent(e, `details.vital_events[${i}]`, errors);
    if (ev) events.push(ev);
  });
  for (const [field, type] of [["marriage_date", "marriage"], ["divorce_date", "divorce"]] as const) {
    const dates = list(src[field]);
    if (dates.length > MAX_EVENTS) errors.push(`details.${field}: at most ${MAX_EVENTS} dates`);
    dates.slice(0, MAX_EVENTS).forEach((d, i) => {
      const from = `details.${field}[${i}]`;
      events.push({ type, date: date(d, from, errors), from });
    });
  }
  foldCore(raw, src, events, errors);
  const out: CrvsDetails = { vital_events: dedupe(events) };
  if (out.vital_events.length > MAX_EVENTS) errors.push(`details.vital_events: at most ${MAX_EVENTS} events`);
  checkOnce(out.vital_events, errors);
  if (src.marital_status !== undefined && src.marital_status !== null && src.marital_status !== "") {
    out.marital_status = maritalStatus(src.marital_status);
    if (!out.marital_status) {
      errors.push(
        `details.marital_status: ${show(src.marital_status)} is not one of ${
          MARITAL_STATUS_CODES.join(", ")
        }`,
      );
    }
  }
  for (const f of ["parent1_identifier", "parent2_identifier"] as const) {
    const id = readIdentifier(src[f], `details.${f}`, errors);
    if (id) out[f] = id;
  }
  if (!out.marital_status) delete out.marital_status;
  const empty = !out.vital_events.length && !out.marital_status && !out.parent1_identifier &&
    !out.parent2_identifier;
  return empty ? undefined : out;
}

/**
 * Whether the record registers a birth: it names a parent, or carries a birth registration number (BRN). An adult
 * registered for an identity number alone has a `birth_date` that is no birth registered here.
 */
function registersBirth(raw: Obj, src: Obj): boolean {
  if (src.parent1_identifier || src.parent2_identifier) return true;
  // The identifiers as the record reader takes them: under its aliases, one or a list, types normalised.
  const ids = aliased(raw, "identifier");
  return (Array.isArray(ids) ? ids : [ids]).some((id) =>
    isObj(id) && normaliseIdType(id.identifier_type ?? id.type) === "BRN"
  );
}

/**
 * Makes the live birth and death events agree with the core `birth_date` / `death_date`: an event without a date
 * takes the core one, a core `death_date` without a death event records one, and so does a core `birth_date` of a
 * record that registers a birth (registersBirth); `birth_place` / `death_place` are those events' places; every
 * event needs a date and none is before the birth.
 */
function foldCore(raw: Obj, src: Obj, events: Pending[], errors: string[]): void {
  const birthRegistration = registersBirth(raw, src);
  const core = {
    live_birth: {
      field: "birth_date",
      date: normaliseDate(aliased(raw, "birth_date")),
      place: "birth_place",
    },
    death: { field: "death_date", date: normaliseDate(raw.death_date), place: "death_place" },
  } as const;
  for (
    const [type, c] of Object.entries(core) as Array<[keyof typeof core, (typeof core)[keyof typeof core]]>
  ) {
    const place = readPlace(src[c.place], `details.${c.place}`, errors);
    let ev = events.find((e) => e.type === type);
    const dated = c.date !== undefined && (type === "death" || birthRegistration);
    if (!ev && (place || dated)) {
      events.push(ev = { type, from: `details.${c.place}` });
    }
    if (!ev) continue;
    if (ev.date === undefined) ev.date = c.date;
    else if (ev.date !== c.date) {
      errors.push(`${ev.from}.date: ${ev.date} differs from ${c.field} (${c.date ?? "none"})`);
    }
    if (place && ev.place) errors.push(`details.${c.place}: the ${type} event has a place already`);
    else if (place) ev.place = place;
  }
  const birth = core.live_birth.date;
  for (const e of events) {
    if (e.date === undefined) errors.push(`${e.from}: a ${e.type} event needs a date`);
    else if (birth && e.type !== "live_birth" && e.date < birth) {
      errors.push(`${e.from}: ${e.date} is before birth_date (${birth})`);
    }
  }
}

/** Drops repeated events (same type and date, the first with a place kept), sorted by date then enum order. */
function dedupe(events: Pending[]): VitalEvent[] {
  const seen = new Map<string, VitalEvent>();
  for (const e of events) {
    if (!e.date) continue;
    const k = `${e.type}|${e.date}`;
    const prev = seen.get(k);
    if (!prev) {
      seen.set(k, e.place ? { type: e.type, date: e.date, place: e.place } : { type: e.type, date: e.date });
    } else if (!prev.place && e.place) prev.place = e.place;
  }
  const order = (t: VitalEventType) => VITAL_EVENT_TYPES.indexOf(t);
  return [...seen.values()].sort((a, b) => a.date.localeCompare(b.date) || order(a.type) - order(b.type));
}

function checkOnce(events: VitalEvent[], errors: string[]): void {
  for (const t of ONCE_ONLY) {
    if (events.filter((e) => e.type === t).length > 1) {
      errors.push(`details.vital_events: more than one ${t}`);
    }
  }
  const has = (t: VitalEventType) => events.some((e) => e.type === t);
  if (has("fetal_death") && (has("live_birth") || has("death"))) {
    errors.push("details.vital_events: a fetal_death record has no live_birth or death");
  }
}

const NONE: CrvsDetails = Object.freeze({ vital_events: Object.freeze([]) as unknown as VitalEvent[] });

/** The stored details of a registrant as CrvsDetails (no events when it has none). */
export function crvsDetails(details: Record<string, unknown> | undefined): CrvsDetails {
  if (!details) return NONE;
  return Array.isArray(details.vital_events) ? details as CrvsDetails : { ...details, vital_events: [] };
}
