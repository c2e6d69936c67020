/**
 * A structural validator of DCI records against the spdci JSON-LD classes (shared/dci-spec/spdci-schemas),
 * generalised from tests/registry/schema_test.ts so every registry's tests can use it: a caller names its class
 * files by path, and the validator checks every property of a record against the class's `rdfs:property` ranges
 * (classes recursively, code lists, DateTime, xsd types, `@list` containers), refuses properties the class does not
 * have, and checks the class's `required` list.
 *
 *   const check = jsonLdValidator({ classes: { Person: ["core/v1/data/Person.jsonld"], ... }, enums: {...} });
 *   assert.deepEqual(check(record, "Beneficiary", { top: true }), []);
 *
 * Two spec oddities are handled here, generically: a class may `require` a property it does not declare (IBR
 * Programme requires `enrolment_date` / `enrolment_status`, which its label "Programme Enrollment" explains): such
 * a property is allowed and its value not checked; and range names with typos are read through `aliases`.
 */

// deno-lint-ignore no-explicit-any
type Json = any;

const ROOT = new URL("../../../shared/dci-spec/spdci-schemas/", import.meta.url);
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const XSD = new Set(["string", "integer", "decimal", "boolean"]);

/** The classes and code lists a validator knows, by the names their ranges use. */
export interface JsonLdClasses {
  /** Class name → class files (paths under spdci-schemas/) whose properties it has, merged in order. */
  classes: Record<string, readonly string[]>;
  /** Code list name → its file; a value is a code (the part after `:` of a member id) or a member's label. */
  enums?: Record<string, string>;
  /** Range names read as another (the spec's typos, subclasses: `RelatePerson` → `RelatedPerson`). */
  aliases?: Record<string, string>;
  /** Range names whose values are plain strings (datatypes such as common:Currency). */
  strings?: readonly string[];
  /** Code list names checked only for being a string (lists this validator is not given). */
  looseEnums?: readonly string[];
  /** Entries of a class's `required` list not to enforce (a spec defect each: say which in the caller). */
  notRequired?: Record<string, readonly string[]>;
}

/** Options of one check. */
export interface CheckOptions {
  /** A top-level record: `@context` counts for the class's required list. */
  top?: boolean;
}

interface ClassDef {
  props: Map<string, Json>;
  required: string[];
}

/** Parses a JSON-LD file under spdci-schemas/. */
export function loadJsonLd(path: string): Json {
  return JSON.parse(Deno.readTextFileSync(new URL(path, ROOT)));
}

function last(id: unknown): string {
  return String(id ?? "").split(":").pop()!.split("/").pop()!;
}

function loadClass(paths: readonly string[]): ClassDef {
  const props = new Map<string, Json>();
  const required: string[] = [];
  for (const path of paths) {
    const doc = loadJsonLd(path);
    for (const p of doc["rdfs:property"] ?? []) props.set(last(p["@id"]), p["rdfs:range"]);
    for (const r of doc.required ?? []) if (!required.includes(r)) required.push(r);
  }
  return { props, required };
}

/** The codes and labels of a code list file (`@graph`: the class, then its members). */
export function codeList(path: string): { codes: string[]; labels: string[] } {
  const graph = loadJsonLd(path)["@graph"] as Json[];
  const members = graph.slice(1);
  return {
    codes: members.map((m) => last(m["@id"])),
    labels: members.map((m) => String(m["rdfs:label"]).trim()),
  };
}

/** A validator over `set`: `(record, className, options) => errors` (empty when the record is valid). */
export function jsonLdValidator(set: JsonLdClasses) {
  const classes = new Map(Object.entries(set.classes).map(([name, paths]) => [name, loadClass(paths)]));
  const enums = new Map(Object.entries(set.enums ?? {}).map(([name, path]) => [name, codeList(path)]));
  const aliases = set.aliases ?? {};
  const strings = new Set(set.strings ?? []);
  const loose = new Set(set.looseEnums ?? []);
  const notRequired = set.notRequired ?? {};

  function check(value: Json, range: Json, path: string, errors: string[]): void {
    if (typeof range === "object" && range?.["@container"] === "@list") {
      if (!Array.isArray(value)) return void errors.push(`${path}: expected a list`);
      value.forEach((v, i) => check(v, { ...range, "@container": undefined }, `${path}[${i}]`, errors));
      return;
    }
    const raw = typeof range === "string" ? range : range?.["@id"] ?? range?.["@type"];
    let name = last(raw);
    name = aliases[name] ?? name;
    if (XSD.has(name)) {
      const t = typeof value;
      const ok = name === "string" ? t === "string" : name === "boolean" ? t === "boolean" : t === "number";
      if (!ok) errors.push(`${path}: expected ${name}`);
      if (name === "integer" && !Number.isInteger(value)) errors.push(`${path}: expected an integer`);
    } else if (name === "DateTime") {
      if (typeof value !== "string" || !DATE_TIME.test(value)) {
        errors.push(`${path}: expected an ISO 8601 date-time with zone`);
      }
    } else if (strings.has(name) || loose.has(name)) {
      if (typeof value !== "string") errors.push(`${path}: expected a string`);
    } else if (enums.has(name)) {
      const list = enums.get(name)!;
      if (!list.codes.includes(value) && !list.labels.includes(value)) {
        errors.push(`${path}: ${JSON.stringify(value)} is not in ${name}`);
      }
    } else if (classes.has(name)) validate(value, name, path, errors);
    else if (raw === "@id") {
      if (typeof value !== "object" || value === null) errors.push(`${path}: expected an object`);
    } else errors.push(`${path}: no rule for range ${JSON.stringify(range)}`);
  }

  function validate(record: Json, cls: string, path: string, errors: string[], top = false): string[] {
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      errors.push(`${path}: expected an object`);
      return errors;
    }
    const def = classes.get(cls);
    if (!def) throw new Error(`jsonLdValidator: no class ${cls}`);
    const required = def.required.map((r) => r.startsWith("@") ? r : last(r));
    for (const r of required) {
      if ((r === "@context" && !top) || notRequired[cls]?.includes(r)) continue;
      if (!(r in record)) errors.push(`${path}: ${r} is required by ${cls}`);
    }
    for (const [k, v] of Object.entries(record)) {
      if (k.startsWith("@")) continue;
      if (def.props.has(k)) check(v, def.props.get(k), `${path}.${k}`, errors);
      else if (!required.includes(k)) errors.push(`${path}.${k}: not a property of ${cls}`);
    }
    return errors;
  }

  return (record: Json, cls: string, options: CheckOptions = {}): string[] =>
    validate(record, cls, cls, [], options.top ?? false);
}
