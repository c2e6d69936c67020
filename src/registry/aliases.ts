/**
 * The top-level fields of an input record that the reader takes under aliases: a module of its own, imported by
 * the record reader (model.ts) and by registries' detail readers that look at a core field (crvs: its
 * identifiers), which cannot import the reader (it imports the registries).
 */

type Obj = Record<string, unknown>;

/** The top-level fields the reader takes under aliases (`aliased`): its own key first, then the aliases in order. */
export const ALIASES: ReadonlyArray<readonly string[]> = [
  ["id", "external_id", "@id"],
  ["record_type", "@type", "type"],
  ["identifier", "identifiers", "group_identifier"],
  ["birth_date", "birthdate"],
  ["address", "addresses"],
  ["phone_number", "phone"],
  ["group_id", "household_id", "group"],
  ["relationship", "relationship_type"],
  ["attributes", "additional_attributes"],
];
const ALIASES_OF = new Map(ALIASES.map((keys) => [keys[0], keys]));

/** A top-level field as the reader takes it: under its own key, else the first of its aliases holding a value. */
export function aliased(raw: Obj, key: string): unknown {
  for (const k of ALIASES_OF.get(key) ?? [key]) if (raw[k] !== undefined && raw[k] !== null) return raw[k];
  return undefined;
}
