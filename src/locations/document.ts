/**
 * The DCI locations document (`LocationHierarchy`, spdci-standards src/locations/schema/core/*.yaml) of a
 * stored hierarchy.
 *
 * The spec's `Place` defines the properties `identifier`, `name`, `additional_type` and `contained_in_place`
 * but requires `id`, `name` and `containedInPlace` (names it never defines). Each place carries both spellings
 * so that a client reading either, and a validator holding the document to the published schema, are served:
 * `id` = the place code, `containedInPlace` = `contained_in_place` = the parent's code (null for a root).
 */
import { codeIdentifierName, type Place } from "./model.ts";
import type { Hierarchy } from "./store.ts";

/** The JSON-LD context the spec's `@context` schema fixes (common/schema/@context.yaml). */
export const LOCATIONS_CONTEXT = {
  "@context": "http://spdci.org/",
  xsd: "http://www.w3.org/2001/XMLSchema#",
  schema: "http://schema.org/",
} as const;

/** One place as the spec's `Place`. */
export function placeDocument(p: Place): Record<string, unknown> {
  return {
    "@type": "Place",
    id: p.code,
    identifier: [
      { "@type": "PropertyValue", name: codeIdentifierName(p.level), identifier: p.code },
      ...p.identifiers.map((i) => ({ "@type": "PropertyValue", name: i.name, identifier: i.identifier })),
    ],
    name: p.name,
    additional_type: p.level,
    contained_in_place: p.parent,
    containedInPlace: p.parent,
  };
}

/** The whole `LocationHierarchy` document. */
export function locationsDocument(h: Hierarchy): Record<string, unknown> {
  return {
    "@context": LOCATIONS_CONTEXT,
    "@type": "LocationHierarchy",
    last_updated: h.info.updatedAt,
    locations: h.places.map(placeDocument),
  };
}
