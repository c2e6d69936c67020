/**
 * A small structural validator of DCI records against spdci JSON-LD class definitions (spdci-schemas), for any
 * registry: each class is loaded from its files by path (a subclass lists its superclasses' files too, their
 * properties merged), each code list from its file's `owl:oneOf`. A record may carry only its class's properties
 * (and `@`-keys); each value must fit the property's range: strings, numbers, DateTime (ISO 8601 with zone), a
 * code of the enum, an object of the class, or a list of them where the range is an `@list`.
 *
 *   const v = new JsonLdValidator({ classes: { Person: ["core/v1/data/Person.jsonld"], ... }, enums: {...} });
 *   assert.deepEqual(v.validate(record, "Person"), []);
 */

/** The spdci-schemas folder the paths are relative to. */
export const SPDCI_SCHEMAS = new URL("../../../shared/dci-spec/spdci-schemas/", import.meta.url);

// deno-lint-ignore no-explicit-any
type Json = any;

/** What a validator knows: classes, code lists and names. */
export interface JsonLdClasses {
  /** Class name → its files under spdci-schemas (superclasses first; later files add properties). */
  classes: Readonly<Record<string, readonly string[]>>;
  /** Code list name → its file (the values are the last segments of the enum class's `owl:oneOf`). */
  enums?: Readonly<Record<string, string>>;
  /** Code lists taken as any string (no file, or a list too open to check). */
  freeCodes?: readonly string[];
  /** Other names of a class in ranges (`SRPerson` → `Person`, a typo `RelatePerson` → `RelatedPerson`). */
  aliases?: Readonly<Record<string, string>>;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;
const SCALARS = new Set(["string", "decimal", "integer", "boolean", "float", "double"]);

function load(path: string): Json {
  return JSON.parse(Deno.readTextFileSync(new URL(path, SPDCI_SCHEMAS)));
}

function last(id: unknown): string {
  return String(id ?? "").split(":").pop()!;
}

/** The `rdfs:property` entries of a class file (a single class, or an `@graph` of them). */
function properties(path: string): Array<[string, Json]> {
  const doc = load(path);
  const nodes = [doc, ...(Array.isArray(doc["@graph"]) ? doc["@graph"] : [])];
  return nodes.flatMap((n) => (Array.isArray(n["rdfs:property"]) ? n["rdfs:property"] : []))
    .map((p: Json) => [last(p["@id"]), p["rdfs:range"]]);
}

/** The values of a code list file: the `owl:oneOf` of its enum class, last segments. */
function codes(path: string): Set<string> {
  const doc = load(path);
  const nodes = [doc, ...(Array.isArray(doc["@graph"]) ? doc["@graph"] : [])];
  const oneOf = nodes.find((n) => Array.isArray(n["owl:oneOf"]))?.["owl:oneOf"] ?? [];
  return new Set((oneOf as string[]).map(last));
}

/** Validates records against the classes it was given. */
export class JsonLdValidator {
  readonly #classes = new Map<string, Map<string, Json>>();
  readonly #enums = new Map<string, Set<string>>();
  readonly #free: Set<string>;
  readonly #aliases: Readonly<Record<string, string>>;

  constructor(def: JsonLdClasses) {
    for (const [name, files] of Object.entries(def.classes)) {
      this.#classes.set(name, new Map(files.flatMap(properties)));
    }
    for (const [name, file] of Object.entries(def.enums ?? {})) this.#enums.set(name, codes(file));
    this.#free = new Set(def.freeCodes ?? []);
    this.#aliases = def.aliases ?? {};
  }

  /** The property names of a class (for tests asserting coverage). */
  propertiesOf(cls: string): string[] {
    return [...(this.#classes.get(cls)?.keys() ?? [])];
  }

  /** Errors of `record` against class `cls` (unknown properties are errors; `@`-keys allowed). */
  validate(record: Json, cls: string, path = cls, errors: string[] = []): string[] {
    const props = this.#classes.get(cls);
    if (!props) throw new Error(`JsonLdValidator: no class ${cls}`);
    if (typeof record !== "object" || record === null || Array.isArray(record)) {
      errors.push(`${path}: expected an object`);
      return errors;
    }
    for (const [k, v] of Object.entries(record)) {
      if (k.startsWith("@")) continue;
      if (!props.has(k)) errors.push(`${path}.${k}: not a property of ${cls}`);
      else this.#check(v, props.get(k), `${path}.${k}`, errors);
    }
    return errors;
  }

  #check(value: Json, range: Json, path: string, errors: string[]): void {
    if (typeof range === "object" && range?.["@container"] === "@list") {
      if (!Array.isArray(value)) return void errors.push(`${path}: expected a list`);
      const item = { ...range, "@container": undefined };
      value.forEach((v, i) => this.#check(v, item, `${path}[${i}]`, errors));
      return;
    }
    let name = last(typeof range === "string" ? range : range?.["@id"] ?? range?.["@type"]);
    if (Object.hasOwn(this.#aliases, name)) name = this.#aliases[name];
    if (SCALARS.has(name)) this.#scalar(value, name, path, errors);
    else if (name === "DateTime") {
      if (typeof value !== "string" || !DATE_TIME.test(value)) {
        errors.push(`${path}: expected an ISO 8601 date-time with zone`);
      }
    } else if (this.#enums.has(name)) {
      if (!this.#enums.get(name)!.has(value)) {
        errors.push(`${path}: ${JSON.stringify(value)} is not in ${name}`);
      }
    } else if (this.#free.has(name)) {
      if (typeof value !== "string") errors.push(`${path}: expected a code`);
    } else if (this.#classes.has(name)) this.validate(value, name, path, errors);
    else if (range?.["@type"] === "@id") {
      if (typeof value !== "object") errors.push(`${path}: expected an object`);
    } else errors.push(`${path}: no rule for range ${JSON.stringify(range)}`);
  }

  #scalar(value: Json, name: string, path: string, errors: string[]): void {
    const t = typeof value;
    const ok = name === "string" ? t === "string" : name === "boolean" ? t === "boolean" : t === "number";
    if (!ok) errors.push(`${path}: expected ${name}`);
    else if (name === "integer" && !Number.isInteger(value)) errors.push(`${path}: expected an integer`);
  }
}

/** The core classes every registry's records use (Person and its parts), for building a registry's validator. */
export const CORE_CLASSES: Readonly<Record<string, readonly string[]>> = {
  Person: ["core/v1/data/Person.jsonld"],
  Name: ["core/v1/data/Name.jsonld"],
  Address: ["core/v1/data/Address.jsonld"],
  Identifier: ["core/v1/data/Identifier.jsonld"],
  Place: ["core/v1/data/Place.jsonld"],
  GeoCoordinates: ["core/v1/data/Geocoordinates.jsonld"],
};

/** The core code lists (sex, marital status) and the ones taken as any code. */
export const CORE_ENUMS: Readonly<Record<string, string>> = {
  SexCategoryEnum: "core/v1/code/SexCategoryEnum.jsonld",
  MaritalStatusEnum: "core/v1/code/MaritalStatusEnum.jsonld",
};
