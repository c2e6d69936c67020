/**
 * (fr tests; tests/helpers/jsonld.ts is the class validator the other registries use.)
 * A structural validator of DCI records against the spdci JSON-LD class files (shared/dci-spec/spdci-schemas):
 * every property of a record must be a property of its class (`@`-keys allowed), every value must fit the
 * property's range (xsd types, DateTime, code lists, nested classes, `@list` containers). Generic: a registry's
 * test names its classes by file path and lists the spec's defects it has to relax, each with its reason.
 */

// deno-lint-ignore no-explicit-any
type Json = any;

const ROOT = new URL("../../../shared/dci-spec/spdci-schemas/", import.meta.url);

/** Reads a file of spdci-schemas (path relative to its root). */
export function loadSchema(path: string): Json {
  return JSON.parse(Deno.readTextFileSync(new URL(path, ROOT)));
}

/** The class node of a class file: the document itself, or the node of its `@graph` with properties. */
function classNode(doc: Json): Json {
  if (Array.isArray(doc["rdfs:property"])) return doc;
  const node = (doc["@graph"] as Json[] | undefined)?.find((n) => Array.isArray(n["rdfs:property"]));
  if (!node) throw new Error("no class with rdfs:property in this file");
  return node;
}

/** The properties of a class file, local name → range, in file order (a later duplicate wins, as in the file). */
export function classProperties(path: string): Array<[string, Json]> {
  return (classNode(loadSchema(path))["rdfs:property"] as Json[]).map((p) => [
    String(p["@id"]).split(":").pop()!,
    p["rdfs:range"],
  ]);
}

/**
 * The codes of a code-list file: the local part of each `owl:oneOf` entry of its enum class and of each code node
 * of its graph (MachineriesEnum defines code 37 in its graph but leaves it out of its `owl:oneOf`).
 */
export function codeListCodes(path: string): string[] {
  const graph = loadSchema(path)["@graph"] as Json[];
  const cls = graph.find((n) => Array.isArray(n["owl:oneOf"]));
  if (!cls) throw new Error(`${path}: no owl:oneOf`);
  const ids = [
    ...cls["owl:oneOf"] as string[],
    ...graph.filter((n) => n !== cls).map((n) => String(n["@id"])),
  ];
  return [...new Set(ids.map((c) => c.split(":").pop()!))];
}

/** Code → label of each code node of a code-list file (a duplicated id keeps its first label, as a reader would). */
export function codeListLabels(path: string): Map<string, string> {
  const graph = loadSchema(path)["@graph"] as Json[];
  const out = new Map<string, string>();
  for (const n of graph) {
    if (Array.isArray(n["owl:oneOf"])) continue;
    const code = String(n["@id"]).split(":").pop()!;
    if (!out.has(code)) out.set(code, String(n["rdfs:label"] ?? ""));
  }
  return out;
}

/** What a validator knows: classes, code lists and the relaxations of known spec defects. */
export interface JsonLdSpec {
  /** Class name → class files whose properties it has, merged in order (a superclass first, then the subclass). */
  classes: Record<string, readonly string[]>;
  /** Code-list name (as ranges name it) → code file. */
  codeLists?: Record<string, string>;
  /** Code ranges that take any string code (the server sends codes the published list does not hold). */
  openCodes?: readonly string[];
  /** Range local name → the class or code list it means (a spec defect: a range naming no class). */
  aliases?: Record<string, string>;
  /** Class → property → range, replacing or adding a property (a spec defect in that class file). */
  overrides?: Record<string, Record<string, Json>>;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const XSD: Record<string, (v: unknown) => boolean> = {
  string: (v) => typeof v === "string",
  boolean: (v) => typeof v === "boolean",
  decimal: (v) => typeof v === "number" && Number.isFinite(v),
  integer: (v) => Number.isInteger(v),
};

/** A validator over `spec`: `validate(record, className)` returns the errors, each naming its path. */
export function jsonLdValidator(spec: JsonLdSpec): { validate(record: Json, cls: string): string[] } {
  const classes = new Map<string, Map<string, Json>>();
  for (const [name, files] of Object.entries(spec.classes)) {
    const props = new Map(files.flatMap((f) => classProperties(f)));
    for (const [p, range] of Object.entries(spec.overrides?.[name] ?? {})) props.set(p, range);
    classes.set(name, props);
  }
  const codes = new Map(Object.entries(spec.codeLists ?? {}).map(([n, f]) => [n, new Set(codeListCodes(f))]));
  const open = new Set(spec.openCodes ?? []);

  function check(value: Json, range: Json, path: string, errors: string[]): void {
    if (typeof range === "object" && range?.["@container"] === "@list") {
      if (!Array.isArray(value)) return void errors.push(`${path}: expected a list`);
      const item = { ...range, "@container": undefined };
      value.forEach((v, i) => check(v, item, `${path}[${i}]`, errors));
      return;
    }
    const id = typeof range === "string" ? range : range?.["@id"] ?? range?.["@type"];
    let name = String(id ?? "").split(":").pop()!;
    if (spec.aliases && Object.hasOwn(spec.aliases, name)) name = spec.aliases[name];
    const xsd = XSD[name.toLowerCase()];
    if (String(id).startsWith("xsd:") && xsd) {
      if (!xsd(value)) errors.push(`${path}: expected xsd:${name}, not ${JSON.stringify(value)}`);
    } else if (name === "DateTime") {
      if (typeof value !== "string" || !DATE_TIME.test(value)) {
        errors.push(`${path}: expected an ISO 8601 date-time with zone`);
      }
    } else if (codes.has(name)) {
      if (!codes.get(name)!.has(value)) errors.push(`${path}: ${JSON.stringify(value)} is not in ${name}`);
    } else if (open.has(name)) {
      if (typeof value !== "string" || !value) errors.push(`${path}: expected a code`);
    } else if (classes.has(name)) validate(value, name, path, errors);
    else if (range?.["@type"] === "@id") {
      if (typeof value !== "object" || value === null) errors.push(`${path}: expected an object`);
    } else errors.push(`${path}: no rule for range ${JSON.stringify(range)}`);
  }

  function validate(record: Json, cls: string, path = cls, errors: string[] = []): string[] {
    const props = classes.get(cls);
    if (!props) throw new Error(`class ${cls} is not defined`);
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      errors.push(`${path}: expected an object`);
      return errors;
    }
    for (const [k, v] of Object.entries(record)) {
      if (k.startsWith("@")) continue;
      if (!props.has(k)) errors.push(`${path}.${k}: not a property of ${cls}`);
      else check(v, props.get(k), `${path}.${k}`, errors);
    }
    return errors;
  }

  return { validate: (record, cls) => validate(record, cls) };
}

/** The core classes every registry's records use (core/v1/data), as `JsonLdSpec.classes` entries. */
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

/** Core code lists checked against their files. */
export const CORE_CODE_LISTS: Record<string, string> = {
  SexCategoryEnum: "core/v1/code/SexCategoryEnum.jsonld",
};

/**
 * Core code ranges taking any code: identifier types (the server holds the types partners use, FARMER_ID, NID,
 * HOUSEHOLD_ID, beside the list's UIN/BRN/MRN/DRN), relationship codes (the list's ids are the codes, but its
 * class is named RelationshipEnum, not the RelationshipTypeEnum the range names) and group types (the server
 * sends `household`; AssistanceUnit.jsonld numbers its three units).
 */
export const CORE_OPEN_CODES: readonly string[] = [
  "IdentifierTypeEnum",
  "RelationshipTypeEnum",
  "AssistanceUnitEnum",
];

/** Core class defects: core Member's related_person names `RelatePerson` (a typo of RelatedPerson). */
export const CORE_ALIASES: Record<string, string> = { RelatePerson: "RelatedPerson" };
