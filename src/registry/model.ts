/**
 * The registrant model and the one input reader every writer uses (import, admin API, demo seeder).
 * Input is the DCI record shape (identifier[], name{}, address[], ...) with a few flat conveniences.
 */
import {
  nfc,
  normaliseDate,
  normaliseIdType,
  normaliseInstant,
  normaliseSex,
  numberText,
} from "./attributes.ts";
import { MAX_NAME, MAX_TIMESTAMP } from "../dci/limits.ts";
import type { RecordTypeDef, RegistryProfile } from "../registries/profile.ts";
import { recordTypeNamed, socialRegistry } from "../registries/index.ts";
import { aliased, ALIASES } from "./aliases.ts";

/** An identifier of a registrant. */
export interface IdentifierValue {
  type: string;
  value: string;
}

/** An address, after the spdci Address. */
export interface Address {
  address_line_1?: string;
  address_line_2?: string;
  locality?: string;
  sub_region_code?: string;
  region_code?: string;
  postal_code?: string;
  country_code?: string;
}

/** Name parts, after the spdci Name. */
export interface NameParts {
  given_name?: string;
  second_name?: string;
  surname?: string;
  maiden_name?: string;
  prefix?: string;
  suffix?: string;
}

/** A registrant as stored (the `data` column) and mapped to DCI records. */
export interface Registrant {
  externalId: string;
  /** The storage record type (`person`, `group`, `crvs_person`, ...: RecordTypeDef.storage of its registry). */
  recordType: string;
  identifiers: IdentifierValue[];
  name: NameParts;
  sex?: string;
  birthDate?: string;
  deathDate?: string;
  addresses: Address[];
  phones: string[];
  emails: string[];
  /** A person's household (the group's external id) and relationship to its head. */
  groupRef?: string;
  relationship?: string;
  groupType?: string;
  groupSize?: number;
  povertyScore?: number;
  povertyScoreType?: string;
  registrationDate: string;
  lastUpdated: string;
  attributes: Record<string, unknown>;
  /** The registry-specific part of the record (see src/registries/profile.ts), as its profile read it. */
  details?: Record<string, unknown>;
}

/** Why an input record was refused (each reason names the field). */
export class InputError extends Error {
  constructor(readonly reasons: string[]) {
    super(reasons.join("; ").slice(0, 999));
    this.name = "InputError";
  }
}

// Not . or ..: a record's id is a path segment of the admin API and the console, where those resolve elsewhere.
const EXTERNAL_ID = /^(?!\.\.?$)[A-Za-z0-9._:-]{1,64}$/;
const RELATIONSHIP = /^[A-Za-z_]{1,32}$/;
/** A date-time as `toISOString` writes it (with a valid date part, it is its own normal form). */
const CANONICAL_STAMP = /^\d{4}-\d{2}-\d{2}T(?:[01]\d|2[0-3]):[0-5]\d:[0-5]\d\.\d{3}Z$/;
const MAX_TEXT = 256;

type Obj = Record<string, unknown>;

/** A client value in an error message, at most 60 characters of its JSON. */
function show(v: unknown): string {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

function isObj(v: unknown): v is Obj {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/**
 * The top-level fields the core reader knows (with the aliases it accepts) and `details`, the registry-specific
 * part its profile reads. A registry other than social refuses any other field, naming it.
 */
export const CORE_FIELDS: ReadonlySet<string> = new Set([
  "id",
  "external_id",
  "@id",
  "@context",
  "@type",
  "record_type",
  "type",
  "name",
  "given_name",
  "first_name",
  "second_name",
  "surname",
  "maiden_name",
  "prefix",
  "suffix",
  "identifier",
  "identifiers",
  "group_identifier",
  "sex",
  "birth_date",
  "birthdate",
  "death_date",
  "address",
  "addresses",
  "phone_number",
  "phone",
  "email",
  "group_id",
  "household_id",
  "group",
  "relationship",
  "relationship_type",
  "group_type",
  "group_size",
  "poverty_score",
  "poverty_score_type",
  "registration_date",
  "last_updated",
  "attributes",
  "additional_attributes",
  "details",
]);

/** The name parts the reader takes flat (top-level) when `name` is not an object. */
const FLAT_NAME = ["given_name", "first_name", "second_name", "surname", "maiden_name", "prefix", "suffix"];

/**
 * `patch` merged over `base` field by field (a PATCH), both read as `readRegistrant` reads them, `base` under the
 * reader's own keys (`asInput` of a stored record): a field of `patch` under an alias replaces the field it is an
 * alias of (`phone` replaces `phone_number`), and flat name parts (`surname`, `first_name`) or a `name` string
 * change those parts of `base.name` alone; a `name` object replaces it. A null value clears its field.
 */
export function mergeInput(
  base: Record<string, unknown>,
  patch: Record<string, unknown>,
): Record<string, unknown> {
  const out: Obj = { ...base };
  const done = new Set<string>(["name", ...FLAT_NAME]);
  for (const keys of ALIASES) {
    const given = keys.filter((k) => Object.hasOwn(patch, k));
    for (const k of given) done.add(k);
    // The reader takes the first of them holding a value (`??`); when none does, the field is cleared.
    if (given.length > 0) out[keys[0]] = aliased(patch, keys[0]) ?? null;
  }
  const flat = FLAT_NAME.filter((k) => Object.hasOwn(patch, k));
  if (isObj(patch.name)) out.name = patch.name;
  else if (patch.name !== undefined || flat.length > 0) {
    const name: Obj = patch.name === null || !isObj(base.name) ? {} : { ...base.name };
    for (const k of flat) if (k !== "first_name") name[k] = patch[k];
    if (flat.includes("given_name") || flat.includes("first_name")) {
      name.given_name = patch.given_name ?? patch.first_name ?? null;
    }
    if (typeof patch.name === "string") name.given_name = patch.name;
    out.name = name;
  }
  for (const k of Object.keys(patch)) if (!done.has(k)) out[k] = patch[k];
  return out;
}

/**
 * Reads one input record of `profile`'s registry (social when not given); `now` (ISO) fills
 * registration_date/last_updated. The registry-specific part (`details`) is read by the profile. Throws
 * InputError naming every problem's field.
 */
export function readRegistrant(
  raw: unknown,
  now: string,
  fallbackId?: () => string,
  profile: RegistryProfile = socialRegistry(),
): Registrant {
  if (!isObj(raw)) throw new InputError(["record must be a JSON object"]);
  const errors: string[] = [];
  // PostgreSQL's text and jsonb cannot hold U+0000: refused on both backends alike.
  if (hasNul(raw)) errors.push("record: a text holds a NUL character (U+0000)");
  if (!profile.lenientFields) {
    for (const k of Object.keys(raw)) {
      if (!CORE_FIELDS.has(k)) errors.push(`${show(k).slice(1, -1)}: unknown field`);
    }
  }
  const text = (field: string, v: unknown): string | undefined => {
    if (v === undefined || v === null || v === "") return undefined;
    if (typeof v === "number") return numberText(field, v, errors);
    if (typeof v !== "string" || v.length > MAX_TEXT) {
      errors.push(`${field}: expected a string of at most ${MAX_TEXT} characters`);
      return undefined;
    }
    // NFC, as query values are compared (attributes.ts nfc): one name typed either way is one name.
    return nfc(v.trim()) || undefined;
  };
  const def = readRecordType(raw, profile, errors);
  const recordType = def.storage;
  const idRaw = aliased(raw, "id");
  let externalId = text("id", idRaw);
  if (externalId !== undefined && !EXTERNAL_ID.test(externalId)) {
    errors.push(`id: ${JSON.stringify(externalId)} must match [A-Za-z0-9._:-]{1,64} and not be . or ..`);
  }
  externalId ??= fallbackId?.() ?? crypto.randomUUID();
  const nameObj = isObj(raw.name) ? raw.name : raw;
  const name: NameParts = {};
  for (const k of ["given_name", "second_name", "surname", "maiden_name", "prefix", "suffix"] as const) {
    const v = text(`name.${k}`, nameObj[k] ?? (k === "given_name" ? nameObj.first_name : undefined));
    if (v !== undefined) name[k] = v;
  }
  if (typeof raw.name === "string") name.given_name = text("name", raw.name);
  const date = (field: string, v: unknown) => {
    if (v === undefined || v === null || v === "") return undefined;
    const d = typeof v === "string" && v.length <= MAX_TIMESTAMP ? normaliseDate(v) : undefined;
    if (!d) errors.push(`${field}: ${show(v)} is not a date (YYYY-MM-DD)`);
    return d;
  };
  const stamp = (field: string, v: unknown) => {
    if (v === undefined || v === null || v === "") return undefined;
    // Already what it would become (an export's or this server's own form): kept as it is.
    if (typeof v === "string" && CANONICAL_STAMP.test(v) && normaliseDate(v)) return v;
    // Read as queries read it: a date-time without a zone is UTC, whatever the host's zone (Date.parse reads it
    // as local time, so a registry on a host outside UTC stored it shifted).
    const t = normaliseInstant(v);
    if (t === undefined) errors.push(`${field}: ${show(v)} is not an ISO 8601 date-time`);
    return t;
  };
  let sex: string | undefined;
  if (raw.sex !== undefined && raw.sex !== null && raw.sex !== "") {
    sex = normaliseSex(raw.sex);
    if (!sex) errors.push(`sex: ${show(raw.sex)} is not male, female, other or unknown`);
  }
  const reg: Registrant = {
    externalId,
    recordType,
    identifiers: readIdentifiers(aliased(raw, "identifier"), errors),
    name,
    sex,
    birthDate: date("birth_date", aliased(raw, "birth_date")),
    deathDate: date("death_date", raw.death_date),
    addresses: readAddresses(aliased(raw, "address"), text, errors),
    phones: readList("phone_number", aliased(raw, "phone_number"), text, errors),
    emails: readList("email", raw.email, text, errors),
    groupRef: text("group_id", aliased(raw, "group_id")),
    relationship: text("relationship", aliased(raw, "relationship")),
    groupType: text("group_type", raw.group_type),
    groupSize: readNumber("group_size", raw.group_size, errors, true),
    povertyScore: readNumber("poverty_score", raw.poverty_score, errors, false),
    povertyScoreType: text("poverty_score_type", raw.poverty_score_type),
    registrationDate: stamp("registration_date", raw.registration_date) ?? now,
    lastUpdated: now,
    attributes: readAttributes(aliased(raw, "attributes"), errors),
  };
  if (reg.relationship && !RELATIONSHIP.test(reg.relationship)) errors.push("relationship: expected a code");
  if (reg.relationship) reg.relationship = reg.relationship.toUpperCase();
  if (def.kind === "group" && (reg.groupRef || reg.sex || reg.birthDate)) {
    errors.push("a group has no group_id, sex or birth_date");
  }
  // Social (lenient) keeps ignoring a `details` it has no use for, as it did before there were profiles.
  if (!profile.lenientFields && raw.details !== undefined && raw.details !== null && !isObj(raw.details)) {
    errors.push("details: expected an object");
  } else {
    const details = profile.readDetails(raw, def, errors);
    if (details !== undefined) reg.details = details;
  }
  if (errors.length) throw new InputError(errors);
  return prune(reg);
}

/** The record type named by record_type / @type / type (the registry's first when none is). */
function readRecordType(raw: Obj, profile: RegistryProfile, errors: string[]): RecordTypeDef {
  const named = aliased(raw, "record_type");
  if (named === undefined || named === null || named === "") return profile.recordTypes[0];
  // Not read as text: String() of a deeply nested array overflows the stack and stopped the whole import.
  if (typeof named !== "string") {
    errors.push("record_type: must be a string");
    return profile.recordTypes[0];
  }
  const def = recordTypeNamed(profile, named.slice(0, MAX_NAME));
  if (def) return def;
  const known = profile.recordTypes.map((rt) => rt.storage).join(" or ");
  errors.push(`record_type: ${show(named)} is not ${known}`);
  return profile.recordTypes[0];
}

/**
 * The most distinct identifiers one record may hold (every registry's records carry one to four: UIN, BRN, NID, a
 * household or programme id, ...). Each is a row of the identifiers index and a lookup of every write, and an IBR
 * enrolment update merges the identifiers it names into the stored ones: a record over the cap is refused.
 */
export const MAX_IDENTIFIERS = 50;

/** Why identifier entry `o` cannot be read (its type, its value), for the error of entry `i`. */
function identifierProblem(o: Record<string, unknown>, type: string | undefined, value: unknown): string {
  if (!isObj(o) || Object.keys(o).length === 0) return "expected {identifier_type, identifier_value}";
  if (!type) {
    const raw = o.identifier_type ?? o.type;
    return raw === undefined || raw === null || raw === ""
      ? "identifier_type is missing"
      : `identifier_type ${show(raw)} is not a code (a letter, then up to 63 letters, digits, _ . -)`;
  }
  if (typeof value !== "string" || !value.trim()) return "identifier_value is missing or not a string";
  return "identifier_value is longer than 128 characters";
}

/**
 * The identifiers of a record, de-duplicated by (type, value) in one pass; more than MAX_IDENTIFIERS distinct ones is
 * an error (the list is not read on past it), and only the first few malformed entries are named, each with why.
 */
function readIdentifiers(v: unknown, errors: string[]): IdentifierValue[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  const out = new Map<string, IdentifierValue>();
  let malformed = 0;
  for (const [i, x] of list.entries()) {
    const o = isObj(x) ? x : {};
    const type = normaliseIdType(o.identifier_type ?? o.type);
    const rawValue = o.identifier_value ?? o.value;
    const value = typeof rawValue === "number" ? numberText(`identifier[${i}]`, rawValue, errors) : rawValue;
    if (typeof rawValue === "number" && value === undefined) continue;
    if (!type || typeof value !== "string" || !value.trim() || value.length > 128) {
      if (++malformed <= 5) errors.push(`identifier[${i}]: ${identifierProblem(o, type, value)}`);
      continue;
    }
    // A type is a code (no NUL); a value with a NUL is refused as a whole record, so the key is unambiguous.
    const key = `${type}\u0000${value.trim()}`;
    if (out.has(key)) continue;
    if (out.size === MAX_IDENTIFIERS) {
      errors.push(`identifier: more than ${MAX_IDENTIFIERS} distinct identifiers (${list.length} given)`);
      break;
    }
    out.set(key, { type, value: value.trim() });
  }
  return [...out.values()];
}

/**
 * The most addresses, phone numbers or e-mail addresses one record may hold: a record with more is refused naming
 * the field, as one over MAX_IDENTIFIERS is (cutting the list would drop the rest silently).
 */
export const MAX_CONTACTS = 10;

function readAddresses(
  v: unknown,
  text: (f: string, v: unknown) => string | undefined,
  errors: string[],
): Address[] {
  if (v === undefined || v === null) return [];
  const list = (Array.isArray(v) ? v : [v]).filter(isObj);
  if (list.length > MAX_CONTACTS) {
    errors.push(`address: more than ${MAX_CONTACTS} addresses (${list.length} given)`);
    return [];
  }
  return list.map((a, i) => {
    const f = (k: string) => `address[${i}].${k}`;
    const out: Address = {
      address_line_1: text(f("address_line_1"), a.address_line_1 ?? a.street_address ?? a.address_line),
      address_line_2: text(f("address_line_2"), a.address_line_2),
      locality: text(f("locality"), a.locality ?? a.city),
      sub_region_code: text(f("sub_region_code"), a.sub_region_code ?? a.sub_region),
      region_code: text(f("region_code"), a.region_code ?? a.region),
      postal_code: text(f("postal_code"), a.postal_code),
      country_code: text(f("country_code"), a.country_code ?? a.country)?.toUpperCase(),
    };
    return prune(out);
  });
}

function readList(
  field: string,
  v: unknown,
  text: (f: string, v: unknown) => string | undefined,
  errors: string[],
): string[] {
  if (v === undefined || v === null || v === "") return [];
  const list = Array.isArray(v) ? v : [v];
  if (list.length > MAX_CONTACTS) {
    errors.push(`${field}: more than ${MAX_CONTACTS} values (${list.length} given)`);
    return [];
  }
  return list.map((x, i) => text(`${field}[${i}]`, x)).filter((x): x is string => !!x);
}

/** Whether a JSON value holds U+0000 in any string or key (loops, not `Object.entries`: an import calls it per record). */
function hasNul(v: unknown, depth = 0): boolean {
  if (typeof v === "string") return v.includes("\u0000");
  if (typeof v !== "object" || v === null || depth > 64) return false;
  if (Array.isArray(v)) {
    for (const x of v) if (hasNul(x, depth + 1)) return true;
    return false;
  }
  const o = v as Record<string, unknown>;
  for (const k in o) {
    if (Object.hasOwn(o, k) && (k.includes("\u0000") || hasNul(o[k], depth + 1))) return true;
  }
  return false;
}

function readNumber(field: string, v: unknown, errors: string[], integer: boolean): number | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "number" ? v : typeof v === "string" ? Number(v) : NaN;
  // An integer within ±(2^53 - 1): beyond that JavaScript loses its digits, and PostgreSQL's bigint column
  // (from 2^63) refused the write as a 500.
  if (!Number.isFinite(n) || (integer && !Number.isSafeInteger(n))) {
    errors.push(`${field}: expected ${integer ? "an integer within ±(2^53 - 1)" : "a number"}`);
    return undefined;
  }
  return n;
}

function readAttributes(v: unknown, errors: string[]): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  let out: Record<string, unknown> = {};
  if (Array.isArray(v)) {
    for (const x of v) {
      if (isObj(x) && typeof x.name === "string" && "value" in x) out[x.name] = x.value;
      else if (isObj(x)) Object.assign(out, x);
    }
  } else if (!isObj(v)) errors.push("attributes: expected an object");
  else out = v;
  // The list form is capped like the object form: 8 KiB of JSON.
  if (JSON.stringify(out).length > 8192) {
    errors.push("attributes: larger than 8 KiB");
    return {};
  }
  return out;
}

/**
 * Drops undefined fields (keeps stored JSON and snapshots small). Copies instead of `delete`, which would put
 * the object in V8's slow dictionary mode (a bulk import stringifies a million of them).
 */
export function prune<T extends object>(o: T): T {
  const out: Record<string, unknown> = {};
  const from = o as Record<string, unknown>;
  for (const k in from) if (Object.hasOwn(from, k) && from[k] !== undefined) out[k] = from[k];
  return out as T;
}
