/**
 * The civil registry's CSV columns beyond the core ones (id, names, sex, birth_date, death_date, address,
 * `id.<TYPE>` such as `id.BRN` / `id.DRN`, registration_date): one row per person, its events and parents.
 * JSON and NDJSON files give the input record shape directly (`details: {vital_events: [...], ...}`).
 */
import type { ImportColumn } from "../profile.ts";

function place(prefix: "birth_place" | "death_place", what: string): ImportColumn[] {
  return [
    {
      column: `${prefix}_name`,
      path: `details.${prefix}.name`,
      description: `${what}: facility or place name`,
    },
    {
      column: `${prefix}_address`,
      path: `details.${prefix}.address_line`,
      description: `${what}: address line`,
    },
    {
      column: `${prefix}_locality`,
      path: `details.${prefix}.locality`,
      description: `${what}: locality (its name, as in an address)`,
    },
    {
      column: `${prefix}_region`,
      path: `details.${prefix}.region_code`,
      description: `${what}: region code`,
    },
  ];
}

/** CSV columns of the civil registry (header names compared case-insensitively). */
export const CRVS_IMPORT_COLUMNS: readonly ImportColumn[] = [
  {
    column: "vital_events",
    path: "details.vital_events[]",
    description:
      'events as "TYPE:DATE|TYPE:DATE" (live_birth, death, fetal_death, marriage, divorce, adoption), ' +
      'e.g. "adoption:2024-03-01"; a birth takes birth_date and a death death_date when the date is left out',
  },
  ...place("birth_place", "place of birth"),
  ...place("death_place", "place of death"),
  {
    column: "marital_status",
    path: "details.marital_status",
    description: "S, M, W, A, D, L or U (or its label)",
  },
  { column: "marriage_date", path: "details.marriage_date[]", description: 'marriage dates, "|"-separated' },
  { column: "divorce_date", path: "details.divorce_date[]", description: 'divorce dates, "|"-separated' },
  {
    column: "parent1_identifier",
    path: "details.parent1_identifier",
    description: 'first parent as "TYPE:VALUE", e.g. "UIN:537564821"',
  },
  {
    column: "parent2_identifier",
    path: "details.parent2_identifier",
    description: 'second parent as "TYPE:VALUE"',
  },
];
