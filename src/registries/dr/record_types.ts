/** The DR record types and its searchable attributes. */
import type { Registrant } from "../../registry/model.ts";
import type { ProfileAttribute, RecordTypeDef } from "../profile.ts";
import { SUPPORT_CATEGORIES } from "./classes.ts";
import { codeLabel, type CodeList, CODES } from "./codes.ts";

/** Storage record type of DR persons. */
export const DR_PERSON = "dr_person";
/** Storage record type of DR groups (households). */
export const DR_GROUP = "dr_group";

/**
 * PWDPerson (a person: demographics as personal_details, then the disability part) and Group (a household with
 * its DR Members). DRPerson, the core Person of the DR, names the same person record: one storage record type
 * maps to one record class. The first name of each is what this server sends as `reg_record_type`.
 */
export const DR_RECORD_TYPES: readonly RecordTypeDef[] = [
  {
    storage: DR_PERSON,
    kind: "person",
    names: [
      "PWDPerson",
      "PWD_Person",
      "DisabledPerson",
      "DRPerson",
      "DR_Person",
      "person",
      "individual",
      "member",
    ],
  },
  { storage: DR_GROUP, kind: "group", names: ["Group", "household", "family"] },
];

type Json = Record<string, unknown>;

function upper(v: unknown): string | undefined {
  return typeof v === "string" ? v.toUpperCase() : undefined;
}

/** Every value of `field` over the entries of each support category (distinct, upper case). */
function supportValues(reg: Registrant, field: (category: string) => string): string[] {
  const out = new Set<string>();
  for (const support of (reg.details?.disability_support ?? []) as Json[]) {
    for (const category of Object.keys(SUPPORT_CATEGORIES)) {
      for (const item of (support[category] ?? []) as Json[]) {
        const v = upper(item[field(category)]);
        if (v) out.add(v);
      }
    }
  }
  return [...out];
}

/** Every value of `field` over the person's impairments (distinct, upper case). */
function impairmentValues(reg: Registrant, field: string): string[] {
  const out = new Set<string>();
  for (const d of (reg.details?.disability_details ?? []) as Json[]) {
    const v = upper(d[field]);
    if (v) out.add(v);
  }
  return [...out];
}

const ON = [DR_PERSON] as const;

/** The DR attributes made searchable by migration 0047, which writes their values for the records stored before. */
export const DR_ATTRIBUTES_0047: ReadonlySet<string> = new Set(["impairment_level", "impairment_cause"]);

/** A query value → the stored form: the upper-case label of the code it names in one of `lists`. */
function codeOf(...lists: CodeList[]): (raw: unknown) => string | undefined {
  return (raw) => {
    for (const list of lists) {
      const label = codeLabel(list, raw);
      if (label !== undefined) return label.toUpperCase();
    }
    return undefined;
  };
}

const SUPPORT_TYPES = [
  CODES.HumanAssistanceType,
  CODES.AssistiveTechnologyEnum,
  CODES.HousingSupportEnum,
  CODES.MedicalCareEnum,
  CODES.AnimalAssistanceEnum,
];

/**
 * Searchable DR attributes. Values are the code lists' labels, compared case-insensitively; a query value may
 * also be a code's id (`disability_status eq "status:0"`), and one that names no code of the list is refused.
 */
export const DR_ATTRIBUTES: readonly ProfileAttribute[] = [
  {
    name: "disability_status",
    kind: "upper",
    on: ON,
    values: (reg) => [upper(reg.details?.disability_status)].filter((v): v is string => !!v),
    normalise: codeOf(CODES.DisabilityStatusEnum),
    description: "DisabilityStatusEnum label: Approved, Pending, Expired",
  },
  {
    name: "disability_level",
    aliases: ["disability_status_level"],
    kind: "upper",
    on: ON,
    values: (reg) => [upper(reg.details?.disability_status_level)].filter((v): v is string => !!v),
    normalise: codeOf(CODES.DisabilityLevelEnum),
    description: "DisabilityLevelEnum label: High Support Needs (...), Severe, Moderate, Mild",
  },
  {
    name: "impairment_type",
    // The record's path, as dr_api's sample search and OpenSPP's DR configuration name it.
    aliases: ["disability_details.impairment_type"],
    kind: "upper",
    on: ON,
    values: (reg) => impairmentValues(reg, "impairment_type"),
    normalise: codeOf(CODES.ImpairmentType),
    description: "ImpairmentType label of any of the person's impairments: Vision, Hearing, Mobility, ...",
  },
  // Searchable since migration 0047 (DR_ATTRIBUTES_0047).
  {
    name: "impairment_level",
    aliases: ["disability_details.impairment_level"],
    kind: "upper",
    on: ON,
    values: (reg) => impairmentValues(reg, "impairment_level"),
    normalise: codeOf(CODES.ImpairmentLevel),
    description: "ImpairmentLevel label of any of the person's impairments: Mild, Moderate, Severe, Extreme",
  },
  {
    name: "impairment_cause",
    aliases: ["disability_details.impairment_cause"],
    kind: "upper",
    on: ON,
    values: (reg) => impairmentValues(reg, "impairment_cause"),
    normalise: codeOf(CODES.ImpairmentCause),
    description:
      "ImpairmentCause label of any of the person's impairments: Illness, Road accident, Ageing, ...",
  },
  {
    name: "support_type",
    kind: "upper",
    on: ON,
    values: (reg) => supportValues(reg, () => "type"),
    normalise: codeOf(...SUPPORT_TYPES),
    description: "type label of any support entry (Wheelchairs, mobility, Home Adaptation, Service Dog, ...)",
  },
  {
    name: "support_status",
    kind: "upper",
    on: ON,
    values: (reg) => supportValues(reg, (c) => c === "human_assistance" ? "support" : "status"),
    normalise: codeOf(CODES.SupportStatusEnum),
    description: "SupportStatusEnum label of any support entry: Needed, Received",
  },
];
