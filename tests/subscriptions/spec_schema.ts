/**
 * A small JSON-schema (OpenAPI 3 subset) validator for checking what the server sends against the DCI spec:
 * $ref (local JSON pointers), type, properties, required, items, enum, maxLength, pattern, format date-time,
 * allOf, anyOf, oneOf. Unknown properties are allowed, as in the spec (no additionalProperties anywhere).
 */
import { parse } from "yaml";

// deno-lint-ignore no-explicit-any
type Json = any;

const SPEC = new URL(
  "../../../shared/dci-spec/spdci-api-standards-2025-12_via-openspp/social_api_v1.0.0.yaml",
  import.meta.url,
);

/** The social registry API document, parsed (a fresh copy each call, so tests may patch it). */
export function socialSpec(): Json {
  return parse(Deno.readTextFileSync(SPEC));
}

/** The JSON request body schema of a spec path, e.g. `/registry/notify`. */
export function bodySchema(spec: Json, path: string): Json {
  const schema = spec.paths?.[path]?.post?.requestBody?.content?.["application/json"]?.schema;
  if (!schema) throw new Error(`spec has no JSON body for POST ${path}`);
  return schema;
}

const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function resolve(spec: Json, ref: string): Json {
  if (!ref.startsWith("#/")) throw new Error(`only local refs are supported: ${ref}`);
  let node = spec;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    node = node?.[key];
    if (node === undefined) throw new Error(`unresolved ref ${ref}`);
  }
  return node;
}

function typeOk(type: string, v: unknown): boolean {
  switch (type) {
    case "object":
      return typeof v === "object" && v !== null && !Array.isArray(v);
    case "array":
      return Array.isArray(v);
    case "string":
      return typeof v === "string";
    case "integer":
      return Number.isInteger(v);
    case "number":
      return typeof v === "number" && Number.isFinite(v);
    case "boolean":
      return typeof v === "boolean";
    default:
      throw new Error(`unsupported type ${type}`);
  }
}

/** The errors of `value` against `schema` (empty when valid), each naming the path of the value. */
export function validate(spec: Json, schema: Json, value: unknown, path = "$"): string[] {
  if (schema === undefined || schema === null) return [];
  if (schema.$ref) return validate(spec, resolve(spec, schema.$ref), value, path);
  const errors: string[] = [];
  if (schema.type && !typeOk(schema.type, value)) {
    return [`${path}: expected ${schema.type}, got ${Array.isArray(value) ? "array" : typeof value}`];
  }
  if (schema.enum && !schema.enum.includes(value)) {
    errors.push(`${path}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  }
  if (typeof value === "string") {
    if (schema.maxLength !== undefined && value.length > schema.maxLength) {
      errors.push(`${path}: longer than ${schema.maxLength}`);
    }
    if (schema.pattern && !new RegExp(schema.pattern).test(value)) {
      errors.push(`${path}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
    }
    if (schema.format === "date-time" && !DATE_TIME.test(value)) {
      errors.push(`${path}: ${JSON.stringify(value)} is not an ISO 8601 date-time with zone`);
    }
  }
  const isObject = typeof value === "object" && value !== null && !Array.isArray(value);
  if (isObject) {
    const obj = value as Record<string, unknown>;
    for (const key of schema.required ?? []) {
      if (!(key in obj)) errors.push(`${path}: required property "${key}" is missing`);
    }
    for (const [key, sub] of Object.entries(schema.properties ?? {})) {
      if (key in obj) errors.push(...validate(spec, sub, obj[key], `${path}.${key}`));
    }
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((v, i) => errors.push(...validate(spec, schema.items, v, `${path}[${i}]`)));
  }
  for (const sub of schema.allOf ?? []) errors.push(...validate(spec, sub, value, path));
  if (schema.anyOf) {
    const results = (schema.anyOf as Json[]).map((s) => validate(spec, s, value, path));
    if (!results.some((r) => r.length === 0)) {
      errors.push(`${path}: matches none of anyOf: ${results.map((r) => r.join("; ")).join(" | ")}`);
    }
  }
  if (schema.oneOf) {
    const results = (schema.oneOf as Json[]).map((s) => validate(spec, s, value, path));
    const matched = results.filter((r) => r.length === 0).length;
    if (matched !== 1) {
      errors.push(
        `${path}: matches ${matched} of oneOf (exactly 1 required): ${
          results.map((r) => r.join("; ")).join(" | ")
        }`,
      );
    }
  }
  return errors;
}
