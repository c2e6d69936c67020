/**
 * The DR record classes (spdci-schemas extensions/dr/v1/data/*.jsonld) declared once, field by field: the input
 * reader (read.ts), the JSON-LD mapping (record.ts) and the zod schemas of the answers (schemas.ts) all walk
 * these declarations, so a field is added in one place. Field names are the classes' property names; `aliases`
 * are the names the DR yaml's examples use instead (`disability_level`, `programs_enrollments`, `frequency`).
 */
import { type CodeList, CODES } from "./codes.ts";

/** How one property is read, stored and written. */
export type Field =
  | { kind: "code"; codes: CodeList }
  | { kind: "relationship" }
  | { kind: "idType" }
  | { kind: "text"; max: number }
  | { kind: "dateTime" }
  | { kind: "object"; cls: ClassDef }
  | { kind: "list"; cls: ClassDef; max: number };

/** One class: its `@type`, its properties, the input aliases and what an entry must have. */
export interface ClassDef {
  name: string;
  fields: Readonly<Record<string, Field>>;
  aliases?: Readonly<Record<string, string>>;
  required?: readonly string[];
}

const code = (codes: CodeList): Field => ({ kind: "code", codes });
const text = (max = 256): Field => ({ kind: "text", max });
const dateTime: Field = { kind: "dateTime" };
const list = (cls: ClassDef, max: number): Field => ({ kind: "list", cls, max });

/** core Identifier. */
export const IDENTIFIER: ClassDef = {
  name: "Identifier",
  fields: { identifier_type: { kind: "idType" }, identifier_value: text(128) },
  aliases: { type: "identifier_type", value: "identifier_value" },
  required: ["identifier_type", "identifier_value"],
};

/** core Name. */
export const NAME: ClassDef = {
  name: "Name",
  fields: {
    given_name: text(),
    second_name: text(),
    surname: text(),
    maiden_name: text(),
    prefix: text(),
    suffix: text(),
  },
  aliases: { first_name: "given_name", last_name: "surname" },
};

/** A caregiver: a DRPerson (core Person) named by identifiers and name only (no more is needed to find them). */
export const CAREGIVER: ClassDef = {
  name: "DRPerson",
  fields: { identifier: list(IDENTIFIER, 10), name: { kind: "object", cls: NAME } },
};

/** The registration and update times every DR support class has. */
const TIMES = { registration_date: dateTime, last_updated: dateTime } as const;

/** HumanAssistance: who helps, how often, whether the help is received. */
export const HUMAN_ASSISTANCE: ClassDef = {
  name: "HumanAssistance",
  fields: {
    type: code(CODES.HumanAssistanceType),
    intensity: code(CODES.SupportFrequency),
    support: code(CODES.SupportStatusEnum),
    caregiver: { kind: "object", cls: CAREGIVER },
    relationship: { kind: "relationship" },
    ...TIMES,
  },
  aliases: { frequency: "intensity", support_status: "support", status: "support" },
  required: ["type"],
};

function supportClass(name: string, codes: CodeList): ClassDef {
  return {
    name,
    fields: { type: code(codes), status: code(CODES.SupportStatusEnum), ...TIMES },
    aliases: { support_status: "status" },
    required: ["type"],
  };
}

/** AssistiveTechnology, MedicalCare, HousingSupport, AnimalAssistance: a type and whether it is received. */
export const ASSISTIVE_TECHNOLOGY = supportClass("AssistiveTechnology", CODES.AssistiveTechnologyEnum);
export const MEDICAL_CARE = supportClass("MedicalCare", CODES.MedicalCareEnum);
export const HOUSING_SUPPORT = supportClass("HousingSupport", CODES.HousingSupportEnum);
export const ANIMAL_ASSISTANCE = supportClass("AnimalAssistance", CODES.AnimalAssistanceEnum);

/** The support categories of DisabilitySupport, each a list of its class. */
export const SUPPORT_CATEGORIES = {
  human_assistance: HUMAN_ASSISTANCE,
  assistive_technology: ASSISTIVE_TECHNOLOGY,
  housing_support: HOUSING_SUPPORT,
  medical_care: MEDICAL_CARE,
  animal_assistance: ANIMAL_ASSISTANCE,
} as const;

/** DisabilitySupport: the support a person needs or receives, by category. */
export const DISABILITY_SUPPORT: ClassDef = {
  name: "DisabilitySupport",
  fields: {
    ...Object.fromEntries(Object.entries(SUPPORT_CATEGORIES).map(([k, cls]) => [k, list(cls, 16)])),
    ...TIMES,
  },
};

/** DisabilityDetails: one impairment. */
export const DISABILITY_DETAILS: ClassDef = {
  name: "DisabilityDetails",
  fields: {
    impairment_type: code(CODES.ImpairmentType),
    impairment_level: code(CODES.ImpairmentLevel),
    impairment_cause: code(CODES.ImpairmentCause),
    age_on_set: code(CODES.DisabilityOnSet),
  },
  aliases: { age_onset: "age_on_set" },
  required: ["impairment_type"],
};

/** ibr Programme, as PWDPerson.programs_enrolments holds it (its descriptive fields). */
export const PROGRAMME: ClassDef = {
  name: "Programme",
  fields: {
    programme_identifier: text(128),
    programme_name: text(),
    programme_description: text(1000),
    implementing_institution: text(),
  },
};

/**
 * The registry-specific part of a PWDPerson (`Registrant.details`): everything PWDPerson has besides
 * personal_details (the core columns) and the registration times (the record's own).
 */
export const PWD_DETAILS: ClassDef = {
  name: "PWDPerson",
  fields: {
    disability_status: code(CODES.DisabilityStatusEnum),
    disability_status_level: code(CODES.DisabilityLevelEnum),
    disability_details: list(DISABILITY_DETAILS, 16),
    disability_support: list(DISABILITY_SUPPORT, 8),
    transport_requirement: code(CODES.TransportRequirement),
    housing_type: code(CODES.HousingType),
    programs_enrolments: list(PROGRAMME, 32),
  },
  aliases: {
    disability_level: "disability_status_level",
    programs_enrollments: "programs_enrolments",
    programme_enrolments: "programs_enrolments",
  },
};
