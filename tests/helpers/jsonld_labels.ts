/**
 * A structural validator of DCI records against the spdci JSON-LD class definitions
 * (`shared/dci-spec/spdci-schemas/…/*.jsonld`), for any registry: the caller names the class files, the code
 * lists and the spelling slips of its extension; a class that is `rdfs:subClassOf` a core class also has the core
 * class's properties (its own win). A record is valid when each of its properties is one of its class's, and each
 * value fits the property's range: a nested class, a list of them (`@container: @list`), a DateTime with a zone,
 * an xsd type, or a code of the named code list. `@`-keys are not properties; a nested object's `@type`, when
 * given, must name its class.
 *
 *   const validate = jsonLdValidator({ classes: { PWDPerson: "extensions/dr/v1/data/PWDPerson.jsonld", … } });
 *   assert.deepEqual(validate(record, "PWDPerson"), []);
 */
// deno-lint-ignore no-explicit-any
type Json = any;

const ROOT = new URL("../../../shared/dci-spec/spdci-schemas/", import.meta.url);

/** How a code list's values are written in records: its entries' labels or their id suffixes (`male`). */
export type CodeForm = "label" | "suffix";

/** What a registry's records are checked against. */
export interface JsonLdOptions {
  /** Class name (as ranges and `@type` name it) → its file under spdci-schemas/. */
  classes: Record<string, string>;
  /** Code-list range name → its file and how records write its codes. */
  codes?: Record<string, { file: string; form: CodeForm }>;
  /** Code-list ranges whose values are only checked to be strings (lists the records write as free codes). */
  freeCodes?: readonly string[];
  /** Range names the class files misspell → the name they mean (`RelatePerson` → `RelatedPerson`). */
  aliases?: Record<string, string>;
  /** Other `@type` values a class's records may carry (`Person` records typed `SRPerson`). */
  typeNames?: Record<string, readonly string[]>;
}

/** Errors of `record` as class `cls` (empty when valid). */
export type JsonLdValidate = (record: unknown, cls: string, path?: string) => string[];

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const XSD = new Set(["string", "decimal", "integer", "boolean"]);

/** A JSON-LD file under spdci-schemas/. */
export function loadSchema(path: string): Json {
  return JSON.parse(Deno.readTextFileSync(new URL(path, ROOT)));
}

function last(id: unknown): string {
  return String(id ?? "").split(":").pop()!;
}

/** property name → range of a class file, with the properties of the core class it extends. */
function classProperties(path: string): Map<string, Json> {
  const doc = loadSchema(path);
  const props = new Map<string, Json>();
  const parent = doc["rdfs:subClassOf"];
  if (typeof parent === "string" && parent.startsWith("spdcicore:")) {
    for (const [k, v] of classProperties(`core/v1/data/${last(parent)}.jsonld`)) props.set(k, v);
  }
  for (const p of (doc["rdfs:property"] ?? []) as Json[]) props.set(last(p["@id"]), p["rdfs:range"]);
  return props;
}

/** Every way a code list names each code: entry and `owl:oneOf` ids, their suffixes, or the labels. */
function codeValues(file: string, form: CodeForm): Set<string> {
  const graph = loadSchema(file)["@graph"] as Json[];
  const out = new Set<string>();
  for (const e of graph) {
    if (e["@type"] === "rdfs:Class") {
      if (form === "suffix") { for (const id of e["owl:oneOf"] ?? []) out.add(last(id)); }
    } else out.add(form === "label" ? e["rdfs:label"] : last(e["@id"]));
  }
  return out;
}

/** A validator for the classes and code lists `options` names. */
export function jsonLdValidator(options: JsonLdOptions): JsonLdValidate {
  const classes = new Map(
    Object.entries(options.classes).map(([name, file]) => [name, classProperties(file)]),
  );
  const codes = new Map(
    Object.entries(options.codes ?? {}).map(([name, c]) => [name, codeValues(c.file, c.form)]),
  );
  const free = new Set(options.freeCodes ?? []);
  const alias = (name: string) => options.aliases?.[name] ?? name;

  function check(value: Json, range: Json, path: string, errors: string[]): void {
    if (typeof range === "object" && range?.["@container"] === "@list") {
      if (!Array.isArray(value)) return void errors.push(`${path}: expected a list`);
      const item = { ...range, "@container": undefined };
      value.forEach((v, i) => check(v, item, `${path}[${i}]`, errors));
      return;
    }
    const name = alias(last(typeof range === "string" ? range : range?.["@id"] ?? range?.["@type"]));
    if (XSD.has(name)) {
      const t = typeof value;
      const ok = name === "string" ? t === "string" : name === "boolean" ? t === "boolean" : t === "number";
      if (!ok) errors.push(`${path}: expected ${name}`);
      if (name === "integer" && !Number.isInteger(value)) errors.push(`${path}: expected an integer`);
    } else if (name === "DateTime") {
      if (typeof value !== "string" || !DATE_TIME.test(value)) {
        errors.push(`${path}: expected an ISO 8601 date-time with zone`);
      }
    } else if (codes.has(name)) {
      if (!codes.get(name)!.has(value)) errors.push(`${path}: ${JSON.stringify(value)} is not in ${name}`);
    } else if (free.has(name)) {
      if (typeof value !== "string") errors.push(`${path}: expected a code`);
    } else if (classes.has(name)) validate(value, name, path, errors);
    else if (range?.["@type"] === "@id") {
      if (typeof value !== "object") errors.push(`${path}: expected an object`);
    } else errors.push(`${path}: no rule for range ${JSON.stringify(range)}`);
  }

  function validate(record: Json, cls: string, path = cls, errors: string[] = []): string[] {
    const props = classes.get(cls);
    if (!props) throw new Error(`jsonLdValidator: class ${cls} was not given`);
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      errors.push(`${path}: expected an object`);
      return errors;
    }
    const type = record["@type"];
    if (type !== undefined && type !== cls && !options.typeNames?.[cls]?.includes(type)) {
      errors.push(`${path}.@type: ${JSON.stringify(type)} is not ${cls}`);
    }
    for (const [k, v] of Object.entries(record)) {
      if (k.startsWith("@")) continue;
      if (!props.has(k)) errors.push(`${path}.${k}: not a property of ${cls}`);
      else check(v, props.get(k), `${path}.${k}`, errors);
    }
    return errors;
  }

  return (record, cls, path) => validate(record, cls, path);
}
