/**
 * The civil registry's searchable attributes beyond the core ones (names, sex, `birth_date`, `death_date`,
 * address, identifiers `UIN|BRN|DRN|MRN eq ...`): the vital events (type, date, place), the places of birth and
 * death, marriage and divorce dates, marital status and the parents' identifiers. Each is a list of values per
 * record, written to `registrant_values` when the record is written.
 */
import type { Registrant } from "../../registry/model.ts";
import type { ProfileAttribute } from "../profile.ts";
import { crvsDetails, type VitalEvent } from "./details.ts";
import { placeCodes } from "./places.ts";
import { maritalStatus, type VitalEventType, vitalEventType } from "./vocabulary.ts";

/** Storage record type of a civil registry person. */
export const CRVS_PERSON = "crvs_person";
const ON = [CRVS_PERSON] as const;

function events(reg: Registrant): VitalEvent[] {
  return crvsDetails(reg.details).vital_events;
}

function ofType(reg: Registrant, type: VitalEventType): VitalEvent[] {
  return events(reg).filter((e) => e.type === type);
}

function unique<T>(values: T[]): T[] {
  return [...new Set(values)];
}

function parentAttribute(name: "parent1_identifier" | "parent2_identifier", which: string): ProfileAttribute {
  return {
    name,
    kind: "text",
    on: ON,
    values: (r) => {
      const id = crvsDetails(r.details)[name];
      return id ? [id.value] : [];
    },
    description: `identifier value of the ${which} parent`,
  };
}

/** The civil registry's attributes. */
export const CRVS_ATTRIBUTES: readonly ProfileAttribute[] = [
  {
    name: "vital_event_type",
    aliases: ["event_type", "vital_event"],
    kind: "text",
    on: ON,
    values: (r) => unique(events(r).map((e) => e.type)),
    normalise: vitalEventType,
    description: "type of a vital event recorded for the person (VitalEventTypeEnum: live_birth, death, " +
      "fetal_death, marriage, divorce, adoption; `LiveBirth` and the reg_event_type names are accepted)",
  },
  {
    name: "vital_event_date",
    aliases: ["event_date"],
    kind: "date",
    on: ON,
    values: (r) => unique(events(r).map((e) => e.date)),
    description: "date of a vital event recorded for the person (YYYY-MM-DD; ge/le for a range)",
  },
  {
    name: "vital_event_place",
    aliases: ["event_place", "place_of_event"],
    kind: "text",
    on: ON,
    values: (r) => unique(events(r).flatMap((e) => placeCodes(e.place))),
    description: "locality name or region code of the place of a vital event",
  },
  {
    name: "birth_place",
    aliases: ["place_of_birth"],
    kind: "text",
    on: ON,
    values: (r) => ofType(r, "live_birth").flatMap((e) => placeCodes(e.place)),
    description: "locality name or region code of the place of birth",
  },
  {
    name: "death_place",
    aliases: ["place_of_death"],
    kind: "text",
    on: ON,
    values: (r) => ofType(r, "death").flatMap((e) => placeCodes(e.place)),
    description: "locality name or region code of the place of death",
  },
  {
    name: "marriage_date",
    kind: "date",
    on: ON,
    values: (r) => ofType(r, "marriage").map((e) => e.date),
    description: "date of a marriage of the person",
  },
  {
    name: "divorce_date",
    kind: "date",
    on: ON,
    values: (r) => ofType(r, "divorce").map((e) => e.date),
    description: "date of a divorce of the person",
  },
  {
    name: "marital_status",
    kind: "upper",
    normalise: maritalStatus,
    on: ON,
    values: (r) => {
      const s = crvsDetails(r.details).marital_status;
      return s ? [s] : [];
    },
    description:
      "marital status code (MaritalStatusEnum: S, M, W, A, D, L, U; labels such as Married accepted)",
  },
  {
    name: "parent_identifier",
    aliases: ["parent_id"],
    kind: "text",
    on: ON,
    values: (r) => {
      const d = crvsDetails(r.details);
      return unique(
        [d.parent1_identifier?.value, d.parent2_identifier?.value].filter((v) => v !== undefined),
      );
    },
    description: "identifier value of either parent",
    // Answered from the parents' own rows: storing it too was about 7 % of a crvs import's value rows.
    storedAs: ["parent1_identifier", "parent2_identifier"],
  },
  parentAttribute("parent1_identifier", "first"),
  parentAttribute("parent2_identifier", "second"),
];
