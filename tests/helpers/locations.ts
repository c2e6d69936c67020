/**
 * The DCI locations API in tests: its spec (spdci-standards release/yaml/locations_core_api_v1.0.0.yaml, as
 * published: it has no defect the server needs relaxed) as a validator, and the check that the places named in
 * records resolve in a served `LocationHierarchy`.
 *
 *   locationsSpecErrors(200, body)            // [] when the body matches the spec's 200 response
 *   unresolvedPlaces(records, document)       // [] when every address's codes are places of the document
 */
import type { ValidateFunction } from "ajv";
import { parse } from "yaml";
import { newAjv, readable } from "./spec_validator.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const SPEC = new URL(
  "../../../shared/dci-spec/spdci-standards/release/yaml/locations_core_api_v1.0.0.yaml",
  import.meta.url,
);

let compiled: { doc: Json; fns: Map<number, ValidateFunction> } | undefined;

/** The locations spec document, parsed. */
export function locationsSpec(): Json {
  return parse(Deno.readTextFileSync(SPEC));
}

/** The errors of a GET /.well-known/locations.json answer with `status` against the spec; empty when valid. */
export function locationsSpecErrors(status: number, body: unknown): string[] {
  if (!compiled) {
    const doc = locationsSpec();
    compiled = { doc, fns: new Map() };
  }
  let fn = compiled.fns.get(status);
  if (!fn) {
    const response = compiled.doc.paths["/.well-known/locations.json"].get.responses[String(status)];
    if (!response) return [`the spec defines no ${status} answer`];
    const ajv = newAjv(compiled.doc, `locations-${status}`);
    const schema = response.$ref
      ? { $ref: `locations-${status}${response.$ref}/content/application~1json/schema` }
      : response.content["application/json"].schema;
    fn = ajv.compile(schema);
    compiled.fns.set(status, fn);
  }
  return fn(body) ? [] : readable(fn.errors ?? [], "$");
}

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Every object in `value` (at any depth) that has an address field, with its path. */
function addresses(value: unknown, path: string, out: Array<{ path: string; address: Json }>): void {
  if (Array.isArray(value)) return value.forEach((v, i) => addresses(v, `${path}[${i}]`, out));
  if (!isObject(value)) return;
  if (
    ["country_code", "region_code", "sub_region_code", "locality"].some((k) => typeof value[k] === "string")
  ) {
    out.push({ path, address: value });
  }
  for (const [k, v] of Object.entries(value)) addresses(v, `${path}.${k}`, out);
}

/**
 * The address fields of `records` (anywhere in each record) that do not resolve in `document` (a served
 * LocationHierarchy): `country_code`, `region_code` and `sub_region_code` must be the id of a place of that
 * level; `locality` (a name, as the spdci Address defines it) the name of a locality inside the address's
 * region (and sub-region, when given). Each problem names the record's path and the value.
 */
export function unresolvedPlaces(records: Iterable<unknown>, document: Json): string[] {
  const places = new Map<string, Json>((document.locations as Json[]).map((p) => [p.id, p]));
  const ancestors = (p: Json): string[] => {
    const out: string[] = [];
    for (let at = p.contained_in_place; at !== null && at !== undefined && out.length < 8;) {
      out.push(at);
      at = places.get(at)?.contained_in_place;
    }
    return out;
  };
  const problems: string[] = [];
  let i = 0;
  for (const record of records) {
    const found: Array<{ path: string; address: Json }> = [];
    addresses(record, `record ${i++}`, found);
    for (const { path, address } of found) {
      for (
        const [field, level] of [["country_code", "country"], ["region_code", "region"], [
          "sub_region_code",
          "sub_region",
        ]]
      ) {
        const code = address[field];
        if (code === undefined) continue;
        if (places.get(code)?.additional_type !== level) {
          problems.push(`${path}.${field}: no ${level} "${code}"`);
        }
      }
      if (address.locality === undefined) continue;
      const inside = [address.sub_region_code, address.region_code, address.country_code].filter(Boolean);
      const match = (document.locations as Json[]).find((p) =>
        p.additional_type === "locality" && p.name === address.locality &&
        inside.every((code) => ancestors(p).includes(code))
      );
      if (!match) {
        problems.push(`${path}.locality: no locality "${address.locality}" in ${inside.join(" / ")}`);
      }
    }
  }
  return problems;
}
