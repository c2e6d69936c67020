/**
 * The one structural validator of DCI records against the spdci JSON-LD classes
 * (shared/dci-spec/spdci-schemas), for every registry's tests. A caller names its classes by file path (a subclass
 * lists its superclass's files first, or sets `inheritCore`), its code lists, and the spec's defects it relaxes, each
 * with its reason at the call site. A record may carry only its class's properties (`@`-keys aside); each value must
 * fit the property's range: an xsd type, a DateTime with a zone, a code of the named list, an object of the class,
 * or a list of them where the range is an `@list`. Optionally a class's `required` list and `@type` are checked.
 *
 *   const v = jsonLdValidator({ classes: { Person: ["core/v1/data/Person.jsonld"] }, codes: CORE_CODES });
 *   assert.deepEqual(v.validate(record, "Person", { top: true }), []);
 */

// deno-lint-ignore no-explicit-any
type Json = any;

const ROOT = new URL("../../../shared/dci-spec/spdci-schemas/", import.meta.url);
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const finite = (v: unknown) => typeof v === "number" && Number.isFinite(v);
/** xsd types by lower-case name (the class files write both `xsd:decimal` and `xsd:Decimal`). */
const XSD = new Map<string, (v: unknown) => boolean>([
  ["string", (v) => typeof v === "string"],
  ["boolean", (v) => typeof v === "boolean"],
  ["decimal", finite],
  ["float", finite],
  ["double", finite],
  ["integer", (v) => Number.isInteger(v)],
]);

/** How records write a code list's values: its codes (id suffixes), its labels, or either. */
export type CodeForm = "code" | "label" | "either";

/** What a validator knows: classes, code lists and the relaxations of known spec defects. */
export interface JsonLdSpec {
  /** Class name (as ranges and `@type` name it) → its files, merged in order (a superclass first). */
  classes: Record<string, string | readonly string[]>;
  /** A class file that is `rdfs:subClassOf spdcicore:X` also has core X's properties (its own win). */
  inheritCore?: boolean;
  /** Code-list name (as ranges name it) → its file (codes) or its file and the form records use. */
  codes?: Record<string, string | { file: string; form: CodeForm }>;
  /** Range names whose values are only checked to be strings (open code lists, datatypes such as Currency). */
  freeCodes?: readonly string[];
  /** Range names the class files misspell or subclass → the name they mean (`RelatePerson` → `RelatedPerson`). */
  aliases?: Record<string, string>;
  /** Class → property → range, replacing or adding a property (a defect in that class file). */
  overrides?: Record<string, Record<string, Json>>;
  /**
   * Check each class's `required` list (`@context` only for a top-level record). A required property the class
   * does not declare is allowed, its value unchecked. `notRequired` lists entries not to enforce (a defect each).
   */
  checkRequired?: boolean;
  notRequired?: Record<string, readonly string[]>;
  /** Check a record's `@type`, when given, names its class (or one of `typeNames[cls]`). */
  checkType?: boolean;
  typeNames?: Record<string, readonly string[]>;
}

/** Options of one check. */
export interface CheckOptions {
  /** A top-level record: `@context` counts for the class's required list. */
  top?: boolean;
  /** The path errors start with (default: the class name). */
  path?: string;
}

/** A validator built by `jsonLdValidator`. */
export interface JsonLdValidator {
  /** Errors of `record` as class `cls`, each naming its path (empty when valid). */
  validate(record: unknown, cls: string, options?: CheckOptions): string[];
  /** The property names of a class (for tests asserting coverage). */
  propertiesOf(cls: string): string[];
}

/** Parses a JSON-LD file under spdci-schemas/ (path relative to its root). */
export function loadSchema(path: string): Json {
  return JSON.parse(Deno.readTextFileSync(new URL(path, ROOT)));
}

function last(id: unknown): string {
  return String(id ?? "").split(":").pop()!.split("/").pop()!;
}

function nodes(doc: Json): Json[] {
  return [doc, ...(Array.isArray(doc["@graph"]) ? doc["@graph"] : [])];
}

/** The entries of a code list file's `@graph` that are codes (not its enum class). */
function members(path: string): Json[] {
  return (loadSchema(path)["@graph"] as Json[]).filter((n) => !Array.isArray(n["owl:oneOf"]));
}

/** The codes and labels of a code list file's entries, in file order (labels trimmed). */
export function codeList(path: string): { codes: string[]; labels: string[] } {
  const entries = members(path);
  return {
    codes: entries.map((m) => last(m["@id"])),
    labels: entries.map((m) => String(m["rdfs:label"] ?? "").trim()),
  };
}

/**
 * Every code of a code list file: its enum class's `owl:oneOf` and each entry's id (MachineriesEnum defines code 37
 * in its graph but leaves it out of its `owl:oneOf`).
 */
export function codeListCodes(path: string): string[] {
  const oneOf = nodes(loadSchema(path)).flatMap((n) => Array.isArray(n["owl:oneOf"]) ? n["owl:oneOf"] : []);
  return [...new Set([...oneOf.map(last), ...codeList(path).codes])];
}

/** Code → label of a code list file (a duplicated id keeps its first label, as a reader would). */
export function codeListLabels(path: string): Map<string, string> {
  const { codes, labels } = codeList(path);
  const out = new Map<string, string>();
  codes.forEach((code, i) => out.has(code) || out.set(code, labels[i]));
  return out;
}

function codeValues(file: string, form: CodeForm): Set<string> {
  const values = new Set<string>();
  if (form !== "label") { for (const c of codeListCodes(file)) values.add(c); }
  if (form !== "code") { for (const l of codeList(file).labels) values.add(l); }
  return values;
}

interface ClassDef {
  props: Map<string, Json>;
  required: string[];
}

function loadClass(files: readonly string[], inheritCore: boolean): ClassDef {
  const props = new Map<string, Json>();
  const required: string[] = [];
  for (const file of files) {
    const doc = loadSchema(file);
    const parent = doc["rdfs:subClassOf"];
    if (inheritCore && typeof parent === "string" && parent.startsWith("spdcicore:")) {
      for (const [k, v] of loadClass([`core/v1/data/${last(parent)}.jsonld`], true).props) props.set(k, v);
    }
    for (const n of nodes(doc)) {
      for (const p of n["rdfs:property"] ?? []) props.set(last(p["@id"]), p["rdfs:range"]);
      for (const r of n.required ?? []) if (!required.includes(r)) required.push(r);
    }
  }
  return { props, required: required.map((r) => r.startsWith("@") ? r : last(r)) };
}

/** A validator over `spec`. */
export function jsonLdValidator(spec: JsonLdSpec): JsonLdValidator {
  const classes = new Map<string, ClassDef>();
  for (const [name, files] of Object.entries(spec.classes)) {
    const def = loadClass(typeof files === "string" ? [files] : files, spec.inheritCore ?? false);
    for (const [p, range] of Object.entries(spec.overrides?.[name] ?? {})) def.props.set(p, range);
    classes.set(name, def);
  }
  const codes = new Map(
    Object.entries(spec.codes ?? {}).map(([name, c]) =>
      [name, typeof c === "string" ? codeValues(c, "code") : codeValues(c.file, c.form)] as const
    ),
  );
  const free = new Set(spec.freeCodes ?? []);

  function check(value: Json, range: Json, path: string, errors: string[]): void {
    if (typeof range === "object" && range?.["@container"] === "@list") {
      if (!Array.isArray(value)) return void errors.push(`${path}: expected a list`);
      const item = { ...range, "@container": undefined };
      value.forEach((v, i) => check(v, item, `${path}[${i}]`, errors));
      return;
    }
    const id = String(typeof range === "string" ? range : range?.["@id"] ?? range?.["@type"]);
    let name = last(id);
    if (spec.aliases && Object.hasOwn(spec.aliases, name)) name = spec.aliases[name];
    const xsd = XSD.get(name.toLowerCase());
    if (xsd) {
      if (!xsd(value)) errors.push(`${path}: expected ${id}, not ${JSON.stringify(value)}`);
    } else if (name === "DateTime") {
      if (typeof value !== "string" || !DATE_TIME.test(value)) {
        errors.push(`${path}: expected an ISO 8601 date-time with zone`);
      }
    } else if (codes.has(name)) {
      if (!codes.get(name)!.has(value)) errors.push(`${path}: ${JSON.stringify(value)} is not in ${name}`);
    } else if (free.has(name)) {
      if (typeof value !== "string" || !value) errors.push(`${path}: expected a code`);
    } else if (classes.has(name)) validate(value, name, path, errors, false);
    else if (range?.["@type"] === "@id") {
      if (typeof value !== "object" || value === null) errors.push(`${path}: expected an object`);
    } else errors.push(`${path}: no rule for range ${JSON.stringify(range)}`);
  }

  function validate(record: Json, cls: string, path: string, errors: string[], top: boolean): string[] {
    const def = classes.get(cls);
    if (!def) throw new Error(`jsonLdValidator: class ${cls} was not given`);
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      errors.push(`${path}: expected an object`);
      return errors;
    }
    const type = record["@type"];
    if (spec.checkType && type !== undefined && type !== cls && !spec.typeNames?.[cls]?.includes(type)) {
      errors.push(`${path}.@type: ${JSON.stringify(type)} is not ${cls}`);
    }
    const required = spec.checkRequired ? def.required : [];
    for (const r of required) {
      if ((r === "@context" && !top) || spec.notRequired?.[cls]?.includes(r)) continue;
      if (!(r in record)) errors.push(`${path}: ${r} is required by ${cls}`);
    }
    for (const [k, v] of Object.entries(record)) {
      if (k.startsWith("@")) continue;
      if (def.props.has(k)) check(v, def.props.get(k), `${path}.${k}`, errors);
      else if (!required.includes(k)) errors.push(`${path}.${k}: not a property of ${cls}`);
    }
    return errors;
  }

  return {
    validate: (record, cls, options = {}) =>
      validate(record, cls, options.path ?? cls, [], options.top ?? false),
    propertiesOf: (cls) => [...(classes.get(cls)?.props.keys() ?? [])],
  };
}

/** The core classes every registry's records use (core/v1/data). */
export const CORE_CLASSES: Record<string, readonly string[]> = {
  Person: ["core/v1/data/Person.jsonld"],
  Member: ["core/v1/data/Member.jsonld"],
  Group: ["core/v1/data/Group.jsonld"],
  Name: ["core/v1/data/Name.jsonld"],
  Address: ["core/v1/data/Address.jsonld"],
  Identifier: ["core/v1/data/Identifier.jsonld"],
  RelatedPerson: ["core/v1/data/RelatedPerson.jsonld"],
  Place: ["core/v1/data/Place.jsonld"],
  GeoCoordinates: ["core/v1/data/Geocoordinates.jsonld"],
};

/** The core code lists checked against their files (sex, marital status). */
export const CORE_CODES: Record<string, string> = {
  SexCategoryEnum: "core/v1/code/SexCategoryEnum.jsonld",
  MaritalStatusEnum: "core/v1/code/MaritalStatusEnum.jsonld",
};

/**
 * Core code ranges taking any code: identifier types (the server holds the types partners use, FARMER_ID, NID,
 * HOUSEHOLD_ID, beside the list's UIN/BRN/MRN/DRN), relationship codes (the list's class is named
 * RelationshipEnum, not the RelationshipTypeEnum the range names) and group types (the server sends `household`;
 * AssistanceUnit.jsonld numbers its three units).
 */
export const CORE_FREE_CODES: readonly string[] = [
  "IdentifierTypeEnum",
  "RelationshipTypeEnum",
  "AssistanceUnitEnum",
];

/** Core class defects: core Member's related_person names `RelatePerson` (a typo of RelatedPerson). */
export const CORE_ALIASES: Record<string, string> = { RelatePerson: "RelatedPerson" };
