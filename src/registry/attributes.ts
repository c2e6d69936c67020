/** The search attribute allowlist: DCI attribute names → SQL columns (constants), with value normalisation. */
import { MAX_CODE, MAX_NAME, MAX_TIMESTAMP } from "../dci/limits.ts";

/** A registrant record type. */
export type RecordType = "person" | "group";

/** How an attribute's values are compared. */
export type ValueKind = "text" | "date" | "timestamp" | "number" | "sex" | "upper";

/** One searchable attribute: the column it reads and on which record types. */
export interface AttributeDef {
  /** SQL column of `registrants r` (a constant, never user input). */
  column: string;
  kind: ValueKind;
  /** Record types that have the column themselves. */
  on: readonly RecordType[];
  /** A person may be filtered by a household attribute (through `group_id`). */
  viaGroup?: boolean;
  sortable: boolean;
}

const P: readonly RecordType[] = ["person"];
const G: readonly RecordType[] = ["group"];
const PG: readonly RecordType[] = ["person", "group"];

/** The allowlist; keys are lower-case DCI names and the aliases clients send. */
const ATTRIBUTES: Record<string, AttributeDef> = {
  given_name: { column: "given_name", kind: "text", on: P, sortable: true },
  second_name: { column: "second_name", kind: "text", on: P, sortable: false },
  surname: { column: "surname", kind: "text", on: P, sortable: true },
  sex: { column: "sex", kind: "sex", on: P, sortable: true },
  birth_date: { column: "birth_date", kind: "date", on: P, sortable: true },
  death_date: { column: "death_date", kind: "date", on: P, sortable: true },
  locality: { column: "locality", kind: "text", on: PG, sortable: true },
  region: { column: "region", kind: "text", on: PG, sortable: true },
  postal_code: { column: "postal_code", kind: "text", on: P, sortable: true },
  country: { column: "country", kind: "upper", on: P, sortable: true },
  registration_date: { column: "registration_date", kind: "timestamp", on: PG, sortable: true },
  last_updated: { column: "last_updated", kind: "timestamp", on: PG, sortable: true },
  group_type: { column: "group_type", kind: "text", on: G, viaGroup: true, sortable: true },
  group_size: { column: "group_size", kind: "number", on: G, viaGroup: true, sortable: true },
  poverty_score: { column: "poverty_score", kind: "number", on: G, viaGroup: true, sortable: true },
};

const ALIASES: Record<string, string> = {
  birthdate: "birth_date",
  dob: "birth_date",
  date_of_birth: "birth_date",
  deathdate: "death_date",
  gender: "sex",
  first_name: "given_name",
  firstname: "given_name",
  middle_name: "second_name",
  family_name: "surname",
  last_name: "surname",
  lastname: "surname",
  city: "locality",
  region_code: "region",
  location: "region",
  province: "region",
  country_code: "country",
  postcode: "postal_code",
  household_size: "group_size",
};

/** Identifier type codes accepted as attribute names (`UIN eq 123`). Any type works in idtype-value. */
export const ID_TYPE_ATTRIBUTES = new Set(["UIN", "BRN", "MRN", "DRN", "NID", "PASSPORT", "HOUSEHOLD_ID"]);

/**
 * The record paths of a person's core attributes in the DR and IBR records (`member.demographic_info.birth_date`,
 * as dr_api's sample search filters and sorts), read as the attribute itself.
 */
const PERSON_PATH = /^(?:member\.)?(?:demographic_info|personal_details)\./i;

/** `name` without a person's record path (`member.demographic_info.`, `personal_details.`), trimmed. */
export function withoutPersonPath(name: string): string {
  return name.trim().replace(PERSON_PATH, "");
}

/** The attribute definition for a client-sent name, or undefined when it is not allowlisted. */
export function attributeOf(name: string): AttributeDef | undefined {
  const key = withoutPersonPath(name).toLowerCase();
  const canonical = Object.hasOwn(ALIASES, key) ? ALIASES[key] : key;
  return Object.hasOwn(ATTRIBUTES, canonical) ? ATTRIBUTES[canonical] : undefined;
}

/** Every canonical attribute name (for error messages and docs). */
export function attributeNames(): string[] {
  return [...Object.keys(ATTRIBUTES), "age", "identifier", ...ID_TYPE_ATTRIBUTES];
}

const ID_TYPE = /^[A-Za-z][A-Za-z0-9_.-]{0,63}$/;

/** Normalises an identifier type: a code (`uin`) or URN (`urn:dci:id:uin`, `ns:org:IdType:UIN`) → `UIN`. */
export function normaliseIdType(raw: unknown): string | undefined {
  if (typeof raw !== "string" || raw.length > MAX_NAME) return undefined;
  const last = raw.trim().split(":").pop() ?? "";
  if (!ID_TYPE.test(last)) return undefined;
  return last.toUpperCase();
}

const SEX: Record<string, string> = {
  m: "male",
  male: "male",
  man: "male",
  f: "female",
  female: "female",
  woman: "female",
  o: "other",
  other: "other",
  others: "other",
  u: "unknown",
  unknown: "unknown",
};

/** Normalises a sex code to the SexCategoryEnum (`male|female|other|unknown`). */
export function normaliseSex(raw: unknown): string | undefined {
  if (typeof raw !== "string" || raw.length > MAX_CODE) return undefined;
  const v = raw.trim().toLowerCase().split(":").pop() ?? "";
  return Object.hasOwn(SEX, v) ? SEX[v] : undefined;
}

/**
 * A date (`YYYY-MM-DD`) or an ISO 8601 / RFC 3339 date-time: `T` (or a space) and `HH:MM`, optional seconds and
 * fraction, optional zone (`Z`, `±HH:MM`, `±HHMM`; none: UTC, the server's zone). Nothing else follows the date:
 * `1990-01-02 approx` and `1990-01-02T99:99` were read as their date.
 */
const DATE_TIME = new RegExp(
  String.raw`^(\d{4})-(\d{2})-(\d{2})` + // the date
    String.raw`(?:[Tt ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d)(?:\.(\d{1,9}))?)?` + // a time
    String.raw`(?:([Zz])|([+-])([01]\d|2[0-3]):?([0-5]\d))?)?$`, // its zone
);
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];
/** After 9999-12-31T23:59:59.999Z an instant has no four-digit year (it would not sort with stored ones). */
const LAST_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999);

/** The parts of a date or date-time (DATE_TIME), or undefined when it is not one or its date is not real. */
function dateParts(raw: unknown): RegExpExecArray | undefined {
  if (typeof raw !== "string" || raw.length > MAX_TIMESTAMP) return undefined;
  const m = DATE_TIME.exec(raw.trim());
  if (!m) return undefined;
  const year = +m[1], month = +m[2], day = +m[3];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : MONTH_DAYS[month - 1];
  return year < 100 || days === undefined || day < 1 || day > days ? undefined : m;
}

/**
 * Normalises a date or date-time to `YYYY-MM-DD` (its date as written), or undefined when not a real date or
 * date-time (or longer than any date-time: a 1 MB value starting with a date is not one). Years before 100 are
 * refused, as they were when this checked through `Date.UTC` (which reads them as 19xx); checked by arithmetic,
 * an import's dates cost a third of that.
 */
export function normaliseDate(raw: unknown): string | undefined {
  const m = dateParts(raw);
  return m && `${m[1]}-${m[2]}-${m[3]}`;
}

/**
 * A timestamp query value: a date stays `YYYY-MM-DD` (compared by day), a date-time becomes its UTC instant as
 * stored (`toISOString`: `YYYY-MM-DDTHH:MM:SS.sssZ`, compared as such); undefined when neither.
 */
export function normaliseTimestamp(raw: unknown): string | undefined {
  const m = dateParts(raw);
  if (!m) return undefined;
  if (m[4] === undefined) return `${m[1]}-${m[2]}-${m[3]}`;
  const ms = (m[7] ?? "").padEnd(3, "0").slice(0, 3);
  const offset = m[9] === undefined ? 0 : (m[9] === "-" ? -1 : 1) * (+m[10] * 60 + +m[11]) * 60_000;
  const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] ?? 0), +ms) - offset;
  return t > LAST_MS ? undefined : new Date(t).toISOString();
}

/**
 * A date or date-time as the UTC instant it is stored as (`toISOString`'s form): a date is its midnight UTC, a
 * date-time without a zone is UTC (normaliseTimestamp); undefined when neither.
 */
export function normaliseInstant(raw: unknown): string | undefined {
  const t = normaliseTimestamp(raw);
  return t !== undefined && t.length === 10 ? `${t}T00:00:00.000Z` : t;
}

/**
 * `s` in Unicode NFC, the form names are stored in (model.ts) and compared in (the query compiler): `José` typed
 * with a combining accent (NFD) is the same name as with `é`. Text below U+0300 is NFC already (no combining
 * mark, no character NFC maps): only text with a later character pays for `normalize` (~0.25 µs a call).
 */
export function nfc(s: string): string {
  return BEYOND_LATIN.test(s) ? s.normalize("NFC") : s;
}

const BEYOND_LATIN = /[\u0300-\uffff]/;

/** Converts one query value for an attribute kind to the bound SQL value, or undefined when invalid. */
export function normaliseValue(kind: ValueKind, raw: unknown): string | number | undefined {
  switch (kind) {
    case "date":
      return normaliseDate(raw);
    case "timestamp":
      return normaliseTimestamp(raw);
    case "sex":
      return normaliseSex(raw);
    case "number": {
      const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() ? Number(raw) : NaN;
      return Number.isFinite(n) ? n : undefined;
    }
    case "upper":
      return typeof raw === "string" && raw.length <= 256 ? nfc(raw.trim()).toUpperCase() : undefined;
    case "text":
      if (typeof raw === "number") return String(raw);
      return typeof raw === "string" && raw.length <= 256 ? nfc(raw.trim()) : undefined;
  }
}

/**
 * A number given where text is read (an id, an identifier value, a name from a spreadsheet's export), as text; an
 * integer beyond 2^53 is an error: JSON readers have already rounded it (12345678901234567891 reads as
 * …567000), so two records' ids or a UIN's digits would be silently changed.
 */
export function numberText(field: string, v: number, errors: string[]): string | undefined {
  if (!Number.isFinite(v) || roundedNumber(v)) {
    errors.push(`${field}: ${v} is a number beyond 2^53, which JSON readers round: write it as a string`);
    return undefined;
  }
  return String(v);
}

/**
 * Whether `v` is a number beyond 2^53: the JSON reader has already rounded it, so looking it up would find another
 * identifier than the one the client meant (records' ids and identifiers given so are refused: numberText).
 */
export function roundedNumber(v: unknown): v is number {
  return typeof v === "number" && Number.isFinite(v) && !Number.isSafeInteger(Math.trunc(v));
}

/** The refusal of a rounded number (roundedNumber) given for `what`. */
export function roundedNumberMessage(what: string, v: number): string {
  return `${what} ${v} is a number beyond 2^53, which JSON readers round: send it as a string`;
}
