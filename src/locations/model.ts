/**
 * The place hierarchy of the DCI locations API: what a place is, how an input row (CSV, JSON, or a `Place` of
 * another server's locations.json) becomes one, and the checks across rows (unique codes, known parents, a
 * parent one or more levels above its child). Pure: the store and the import read from here.
 */
import { nfc } from "../registry/attributes.ts";

/** The levels of the hierarchy, top first; the names are the spdci Address fields they fill. */
export const LEVELS = ["country", "region", "sub_region", "locality"] as const;

/** One level of the hierarchy. */
export type Level = typeof LEVELS[number];

/** An identifier of a place beside its code (an ISO 3166-2 code, a census P-code, ...). */
export interface PlaceIdentifier {
  name: string;
  identifier: string;
}

/** One place of the hierarchy. */
export interface Place {
  code: string;
  name: string;
  level: Level;
  /** The parent's code; null for a root. */
  parent: string | null;
  identifiers: PlaceIdentifier[];
}

/** Most places in one hierarchy: locations.json is served whole, and an import is checked in memory. */
export const MAX_PLACES = 100_000;
/** Most extra identifiers per place. */
export const MAX_PLACE_IDENTIFIERS = 8;

// Not . or ..: a location's code is a path segment of the admin API.
const CODE = /^(?!\.\.?$)[A-Za-z0-9._:-]{1,64}$/;
const ID_NAME = /^[A-Za-z0-9._:-]{1,64}$/;
const MAX_NAME = 256;
const MAX_ID_VALUE = 128;
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The identifier name under which a place's own code is published (the Address field it fills). */
export function codeIdentifierName(level: Level): string {
  return level === "locality" ? "locality_code" : `${level}_code`;
}

/** Fields of the plain input row (JSON, NDJSON, and CSV after its column mapping). */
const ROW_FIELDS = new Set(["code", "name", "level", "parent_code", "identifiers"]);
/** Fields of a schema.org / DCI `Place` (another server's locations.json, or ours). */
const PLACE_FIELDS = new Set([
  "@type",
  "id",
  "identifier",
  "name",
  "additional_type",
  "contained_in_place",
  "containedInPlace",
]);

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A text field trimmed and in NFC, as records' names are (`locality` is matched against a place's name). */
function text(v: unknown, field: string, errors: string[]): string | undefined {
  if (v === undefined || v === null || v === "") return undefined;
  if (typeof v !== "string") return void errors.push(`${field}: expected a string`);
  return nfc(v.trim()) || undefined;
}

function level(v: string | undefined, field: string, errors: string[]): Level | undefined {
  if (v === undefined) return void errors.push(`${field}: missing (${LEVELS.join(", ")})`);
  // `Region`, `sub-region`, `dci:LOCALITY`: compared case-insensitively after the last ":".
  const l = v.split(":").pop()!.toLowerCase().replace("-", "_").replace(/^subregion$/, "sub_region");
  if ((LEVELS as readonly string[]).includes(l)) return l as Level;
  errors.push(`${field}: "${v.slice(0, 64)}" is not one of ${LEVELS.join(", ")}`);
}

function identifiers(v: unknown, field: string, errors: string[]): PlaceIdentifier[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) {
    errors.push(`${field}: expected a list`);
    return [];
  }
  if (v.length > MAX_PLACE_IDENTIFIERS + 1) {
    errors.push(`${field}: more than ${MAX_PLACE_IDENTIFIERS} identifiers`);
    return [];
  }
  const out: PlaceIdentifier[] = [];
  v.forEach((x, i) => {
    const at = `${field}[${i}]`;
    if (!isObject(x)) return void errors.push(`${at}: expected an object`);
    const unknown = Object.keys(x).find((k) => k !== "name" && k !== "identifier" && k !== "@type");
    if (unknown) return void errors.push(`${at}.${unknown}: not a PropertyValue field (name, identifier)`);
    const name = text(x.name, `${at}.name`, errors);
    const value = text(x.identifier, `${at}.identifier`, errors);
    if (name === undefined || !ID_NAME.test(name)) {
      return void errors.push(`${at}.name: 1 to 64 letters, digits or . _ : -`);
    }
    if (value === undefined || value.length > MAX_ID_VALUE || CONTROL.test(value)) {
      return void errors.push(`${at}.identifier: 1 to ${MAX_ID_VALUE} printable characters`);
    }
    out.push({ name, identifier: value });
  });
  return out;
}

/** A Place's own code: its `id`, else the identifier named after its level (`region_code`), else the first. */
function placeCode(raw: Record<string, unknown>, lvl: Level | undefined): unknown {
  if (raw.id !== undefined) return raw.id;
  const ids = Array.isArray(raw.identifier) ? raw.identifier.filter(isObject) : [];
  const own = lvl && ids.find((x) => x.name === codeIdentifierName(lvl));
  return (own ?? ids[0])?.identifier;
}

/**
 * One input row to a place, or the reasons it is refused (each naming its field). Takes the plain row
 * `{code, name, level, parent_code, identifiers}` or a `Place` (`@type`, `id`/`identifier[]`, `name`,
 * `additional_type`, `contained_in_place`/`containedInPlace`), as another server's locations.json lists them.
 */
export function readPlace(raw: unknown): { place: Place } | { errors: string[]; code?: string } {
  if (!isObject(raw)) return { errors: ["expected an object"] };
  const errors: string[] = [];
  const isPlace = raw["@type"] !== undefined || "contained_in_place" in raw || "containedInPlace" in raw ||
    "additional_type" in raw;
  const fields = isPlace ? PLACE_FIELDS : ROW_FIELDS;
  for (const k of Object.keys(raw)) {
    if (!fields.has(k)) errors.push(`${k}: unknown field (use ${[...fields].join(", ")})`);
  }
  if (isPlace && raw["@type"] !== undefined && raw["@type"] !== "Place") {
    errors.push(`@type: expected "Place"`);
  }
  const lvl = level(
    text(isPlace ? raw.additional_type : raw.level, isPlace ? "additional_type" : "level", errors),
    isPlace ? "additional_type" : "level",
    errors,
  );
  const code = text(isPlace ? placeCode(raw, lvl) : raw.code, isPlace ? "id" : "code", errors);
  if (code === undefined || !CODE.test(code)) {
    errors.push(`${isPlace ? "id" : "code"}: 1 to 64 letters, digits or . _ : -, not . or ..`);
  }
  const name = text(raw.name, "name", errors);
  if (name === undefined || name.length > MAX_NAME || CONTROL.test(name)) {
    errors.push(`name: 1 to ${MAX_NAME} printable characters`);
  }
  // A Place may carry both of the spec's names (`containedInPlace` required, `contained_in_place` beside it, often
  // null): the one that names a parent counts, and two naming different parents are refused.
  const named = (isPlace ? ["contained_in_place", "containedInPlace"] : ["parent_code"])
    .filter((f) => raw[f] !== undefined && raw[f] !== null && raw[f] !== "");
  const parentField = named[0] ?? (isPlace ? "containedInPlace" : "parent_code");
  const parent = text(raw[parentField], parentField, errors) ?? null;
  if (named.length === 2 && raw[named[0]] !== raw[named[1]]) {
    errors.push("contained_in_place and containedInPlace name different parents");
  }
  if (parent !== null && !CODE.test(parent)) {
    errors.push(`${parentField}: 1 to 64 letters, digits or . _ : -`);
  }
  let ids = identifiers(
    isPlace ? raw.identifier : raw.identifiers,
    isPlace ? "identifier" : "identifiers",
    errors,
  );
  // A Place lists its own code among its identifiers: keep only the others.
  if (lvl) ids = ids.filter((i) => !(i.name === codeIdentifierName(lvl) && i.identifier === code));
  if (ids.length > MAX_PLACE_IDENTIFIERS) errors.push(`identifiers: more than ${MAX_PLACE_IDENTIFIERS}`);
  // A refused row's code, when it has a good one: its children are then told their parent was refused.
  if (errors.length > 0) return code !== undefined && CODE.test(code) ? { errors, code } : { errors };
  return { place: { code: code!, name: name!, level: lvl!, parent, identifiers: ids } };
}

/** A place read from line `line` of the file. */
export interface LinedPlace {
  line: number;
  place: Place;
}

/**
 * The checks across rows, in file order: a code seen before, a parent not in the file (or itself refused), a
 * parent not above its child. Returns the refusals (line, reason); the places left form a hierarchy (every
 * parent present and higher, so no cycle).
 */
export function checkHierarchy(
  places: readonly LinedPlace[],
  refusedRows: ReadonlyMap<string, number> = new Map(),
): Array<{ line: number; reason: string }> {
  const byCode = new Map<string, LinedPlace>();
  const refused: Array<{ line: number; reason: string }> = [];
  for (const p of places) {
    const seen = byCode.get(p.place.code);
    if (seen) {
      refused.push({ line: p.line, reason: `code "${p.place.code}" is already on line ${seen.line}` });
    } else byCode.set(p.place.code, p);
  }
  const rank = (l: Level) => LEVELS.indexOf(l);
  const bad = new Set<LinedPlace>();
  // A child of a refused place is refused too; repeat until nothing changes (at most one pass per level).
  for (let pass = 0; pass < LEVELS.length; pass++) {
    for (const p of byCode.values()) {
      if (bad.has(p) || p.place.parent === null) continue;
      const parent = byCode.get(p.place.parent);
      let reason: string | undefined;
      const refusedRow = refusedRows.get(p.place.parent);
      if (!parent && refusedRow !== undefined) {
        reason = `parent_code "${p.place.parent}": that place (line ${refusedRow}) is refused`;
      } else if (!parent) reason = `parent_code "${p.place.parent}": no such place in the file`;
      else if (bad.has(parent)) {
        reason = `parent_code "${p.place.parent}": that place (line ${parent.line}) is refused`;
      } else if (rank(parent.place.level) >= rank(p.place.level)) {
        reason = `parent_code "${p.place.parent}": a ${parent.place.level} cannot contain a ${p.place.level}`;
      }
      if (reason) {
        bad.add(p);
        refused.push({ line: p.line, reason });
      }
    }
  }
  return refused.sort((a, b) => a.line - b.line);
}
