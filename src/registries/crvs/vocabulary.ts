/**
 * The civil registry's code lists: the vital event types (spdci-schemas extensions/crvs/v1/code/
 * VitalEventTypeEnum.jsonld) with the `reg_event_type` names subscribers send (the crvs yaml writes
 * `spdci-common:RegistryEventType:LiveBirth`), and the marital status codes (core/v1/code/MaritalStatusEnum.jsonld).
 */

/** A VitalEventTypeEnum code. */
export type VitalEventType = "live_birth" | "death" | "fetal_death" | "marriage" | "divorce" | "adoption";

/** The VitalEventTypeEnum codes, in the enum's order. */
export const VITAL_EVENT_TYPES: readonly VitalEventType[] = [
  "live_birth",
  "death",
  "fetal_death",
  "marriage",
  "divorce",
  "adoption",
];

/** Events that happen at most once to a person (correcting their date is no new event). */
export const ONCE_ONLY: ReadonlySet<VitalEventType> = new Set(["live_birth", "death", "fetal_death"]);

/**
 * The `reg_event_type` names of each vital event: the first is the one this server sends (the yaml's style), the
 * others are accepted (compared case-insensitively after the last `:`).
 */
export const VITAL_EVENT_NAMES: Readonly<Record<VitalEventType, readonly string[]>> = {
  live_birth: ["spdci-common:RegistryEventType:LiveBirth", "live_birth", "birth"],
  death: ["spdci-common:RegistryEventType:Death", "death"],
  fetal_death: ["spdci-common:RegistryEventType:FetalDeath", "fetal_death", "stillbirth"],
  marriage: ["spdci-common:RegistryEventType:Marriage", "marriage"],
  divorce: ["spdci-common:RegistryEventType:Divorce", "divorce"],
  adoption: ["spdci-common:RegistryEventType:Adoption", "adoption"],
};

/** The key a type name compares by: the part after the last `:` (or `/`, `#`), lower case, without `_`/`-`/space. */
function key(raw: string): string {
  return (raw.trim().split(/[:/#]/).pop() ?? "").toLowerCase().replace(/[_\s-]/g, "");
}

const EVENT_BY_KEY = new Map<string, VitalEventType>(
  VITAL_EVENT_TYPES.flatMap((t) => VITAL_EVENT_NAMES[t].map((n) => [key(n), t] as const)),
);

/** A vital event type from any of its names (`LiveBirth`, `live_birth`, `event:live_birth`, ...), or undefined. */
export function vitalEventType(raw: unknown): VitalEventType | undefined {
  return typeof raw === "string" && raw.length <= 200 ? EVENT_BY_KEY.get(key(raw)) : undefined;
}

/** A MaritalStatusEnum code. */
export type MaritalStatus = "S" | "M" | "W" | "A" | "D" | "L" | "U";

/** MaritalStatusEnum codes and the labels (rdfs:label and common words) accepted for them. */
const MARITAL: Readonly<Record<MaritalStatus, readonly string[]>> = {
  S: ["never married", "single"],
  M: ["married"],
  W: ["widow", "widowed", "widower"],
  A: ["annulled"],
  D: ["divorced"],
  L: ["legally separated", "separated"],
  U: ["unmarried"],
};

const MARITAL_BY_KEY = new Map<string, MaritalStatus>(
  (Object.entries(MARITAL) as Array<[MaritalStatus, readonly string[]]>).flatMap((
    [code, labels],
  ) => [[key(code), code] as const, ...labels.map((l) => [key(l), code] as const)]),
);

/** A marital status code from a code (`M`, `category:M`) or label (`Married`), or undefined. */
export function maritalStatus(raw: unknown): MaritalStatus | undefined {
  return typeof raw === "string" && raw.length <= 64 ? MARITAL_BY_KEY.get(key(raw)) : undefined;
}

/** The marital status codes, for error messages and docs. */
export const MARITAL_STATUS_CODES = Object.keys(MARITAL) as MaritalStatus[];

/** Identifier types of the civil registry: national id, birth, death and marriage registration numbers. */
export const CRVS_ID_TYPES = ["UIN", "BRN", "DRN", "MRN"] as const;
