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

/** The attribute definition for a client-sent name, or undefined when it is not allowlisted. */
export function attributeOf(name: string): AttributeDef | undefined {
  const key = name.trim().toLowerCase();
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

const DATE = /^(\d{4})-(\d{2})-(\d{2})(?:$|[T ])/;
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Normalises a date or date-time to `YYYY-MM-DD` (the date part), or undefined when not a real date (or longer
 * than any date-time: a 1 MB value starting with a date is not one). Years before 100 are refused, as they were
 * when this checked through `Date.UTC` (which reads them as 19xx); checked by arithmetic, an import's dates cost
 * a third of that.
 */
export function normaliseDate(raw: unknown): string | undefined {
  if (typeof raw !== "string" || raw.length > MAX_TIMESTAMP) return undefined;
  const m = DATE.exec(raw.trim());
  if (!m) return undefined;
  const year = +m[1], month = +m[2], day = +m[3];
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  const days = month === 2 && leap ? 29 : MONTH_DAYS[month - 1];
  if (year < 100 || days === undefined || day < 1 || day > days) return undefined;
  return `${m[1]}-${m[2]}-${m[3]}`;
}

/** Converts one query value for an attribute kind to the bound SQL value, or undefined when invalid. */
export function normaliseValue(kind: ValueKind, raw: unknown): string | number | undefined {
  switch (kind) {
    case "date":
    case "timestamp":
      return normaliseDate(raw);
    case "sex":
      return normaliseSex(raw);
    case "number": {
      const n = typeof raw === "number" ? raw : typeof raw === "string" && raw.trim() ? Number(raw) : NaN;
      return Number.isFinite(n) ? n : undefined;
    }
    case "upper":
      return typeof raw === "string" && raw.length <= 256 ? raw.trim().toUpperCase() : undefined;
    case "text":
      if (typeof raw === "number") return String(raw);
      return typeof raw === "string" && raw.length <= 256 ? raw.trim() : undefined;
  }
}
