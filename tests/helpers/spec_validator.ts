/**
 * The DCI spec yaml as a JSON-schema validator: each registry's OpenAPI document
 * (`shared/dci-spec/spdci-api-standards-2025-12_via-openspp/{registry}_api_v1.0.0.yaml`), its known defects
 * relaxed (tests/helpers/spec_defects.ts), compiled with Ajv (JSON Schema draft-07 semantics, which OpenAPI
 * 3.0.3's schema objects follow) and ajv-formats (date-time, uri, int32, …). One Ajv instance per registry and
 * one compiled function per schema location, per process: compiling a whole registry costs about 200 ms once.
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import addFormatsPlugin from "ajv-formats";
import { parse } from "yaml";
import { relaxDefects, type SpecRegistry } from "./spec_defects.ts";

export type { SpecRegistry };

// deno-lint-ignore no-explicit-any
type Json = any;

const SPEC_DIR = new URL(
  "../../../shared/dci-spec/spdci-api-standards-2025-12_via-openspp/",
  import.meta.url,
);

/** OpenAPI 3.0 schema-object keywords that are annotations for validation (Ajv knows the JSON-Schema ones). */
const OPENAPI_ANNOTATIONS = ["example", "xml", "externalDocs", "discriminator", "x-tagGroups"];

/** The document keys that hold schemas; refs point into them (`#/components/…`, `#/paths/…`). */
const DOCUMENT_KEYS = ["components", "paths"];

// ajv-formats ships as CommonJS: its default export is the plugin function under npm: specifiers.
const addFormats = addFormatsPlugin as unknown as (ajv: Ajv) => Ajv;

/** The parsed spec document of `registry`, defects relaxed (a fresh copy each call: callers may read it). */
export function specDocument(registry: SpecRegistry): Json {
  const doc = parse(Deno.readTextFileSync(new URL(`${registry}_api_v1.0.0.yaml`, SPEC_DIR)));
  relaxDefects(registry, doc);
  return doc;
}

/** The spec document exactly as published (no relaxation), for tests that show what a relaxation changes. */
export function rawSpecDocument(registry: SpecRegistry): Json {
  return parse(Deno.readTextFileSync(new URL(`${registry}_api_v1.0.0.yaml`, SPEC_DIR)));
}

interface Compiled {
  ajv: Ajv;
  doc: Json;
  fns: Map<string, ValidateFunction>;
}

const compiled = new Map<string, Compiled>();

/** An Ajv holding one OpenAPI document (its `components` and `paths`) under `id`, as this suite compiles specs. */
export function newAjv(doc: Json, id: string): Ajv {
  const ajv = new Ajv({
    allErrors: true,
    verbose: true,
    strict: true,
    // The spec writes `properties` and `required` beside `allOf`/`$ref` without `type`: valid JSON Schema.
    strictTypes: false,
    strictRequired: false,
    // The documents are OpenAPI, not JSON-Schema meta-schema instances.
    validateSchema: false,
  });
  addFormats(ajv);
  ajv.addVocabulary([...OPENAPI_ANNOTATIONS, ...DOCUMENT_KEYS]);
  ajv.addSchema({ $id: id, components: doc.components, paths: doc.paths });
  return ajv;
}

function load(registry: SpecRegistry, raw: boolean): Compiled {
  const id = raw ? `raw-${registry}` : registry;
  let c = compiled.get(id);
  if (!c) {
    const doc = raw ? rawSpecDocument(registry) : specDocument(registry);
    c = { ajv: newAjv(doc, id), doc, fns: new Map() };
    compiled.set(id, c);
  }
  return c;
}

/** Escapes one JSON-pointer segment (`/registry/on-search` → `~1registry~1on-search`). */
export function pointerSegment(segment: string): string {
  return segment.replaceAll("~", "~0").replaceAll("/", "~1");
}

/** True when `pointer` (e.g. `/paths/~1registry~1notify/post`) names something in the registry's document. */
export function specHas(registry: SpecRegistry, pointer: string): boolean {
  let node = load(registry, false).doc;
  for (const raw of pointer.split("/").slice(1)) {
    node = node?.[raw.replaceAll("~1", "/").replaceAll("~0", "~")];
    if (node === undefined || node === null) return false;
  }
  return true;
}

/** Options of `specErrors`. */
export interface SpecErrorOptions {
  /** Validate against the published document, without the relaxations of spec_defects.ts. */
  raw?: boolean;
  /** Prefix of every error's path (default `$`). */
  at?: string;
}

/**
 * The errors of `value` against the schema at `pointer` (a JSON pointer into the registry's document, e.g.
 * `/components/schemas/SearchResponse`), each `path: problem (value) [schema location]`; empty when valid.
 */
export function specErrors(
  registry: SpecRegistry,
  pointer: string,
  value: unknown,
  options: SpecErrorOptions = {},
): string[] {
  const c = load(registry, options.raw ?? false);
  let fn = c.fns.get(pointer);
  if (!fn) {
    fn = c.ajv.compile({ $ref: `${options.raw ? "raw-" : ""}${registry}#${pointer}` });
    c.fns.set(pointer, fn);
  }
  if (fn(value)) return [];
  return readable(fn.errors ?? [], options.at ?? "$");
}

/** `/search_response/0/status` → `.search_response[0].status`. */
function dotted(instancePath: string): string {
  return instancePath.split("/").slice(1).map((s) => /^\d+$/.test(s) ? `[${s}]` : `.${s}`).join("");
}

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? "undefined" : text.length > 80 ? `${text.slice(0, 77)}...` : text;
}

/**
 * Ajv's errors as sentences, each with the offending value and the schema location. Every message schema is
 * `oneOf: [<the message>, EncryptedMessage]`; the server never encrypts, so the EncryptedMessage branch's
 * complaints (and the oneOf summary over them) are left out whenever the message's own errors explain the failure.
 */
export function readable(errors: ErrorObject[], at: string): string[] {
  const encrypted = (e: ErrorObject) => e.schemaPath.includes("/EncryptedMessage/");
  const own = errors.filter((e) => !encrypted(e) && e.keyword !== "oneOf");
  const kept = own.length > 0 ? errors.filter((e) => !encrypted(e) && !coveredCombinator(e, own)) : errors;
  const lines = kept.map((e) => {
    const allowed = e.keyword === "enum"
      ? ` ${JSON.stringify((e.params as { allowedValues: unknown[] }).allowedValues)}`
      : "";
    const value = e.keyword === "required" ? "" : ` (got ${shown(e.data)})`;
    return `${at}${dotted(e.instancePath)}: ${e.message}${allowed}${value} [${e.schemaPath}]`;
  });
  return [...new Set(lines)];
}

/** A oneOf/anyOf failure whose cause is already reported by an error at or below its path. */
function coveredCombinator(e: ErrorObject, own: ErrorObject[]): boolean {
  if (e.keyword !== "oneOf" && e.keyword !== "anyOf") return false;
  return own.some((o) => o !== e && o.keyword !== "anyOf" && o.instancePath.startsWith(e.instancePath));
}
