/**
 * The IBR code lists (spdci-schemas/extensions/ibr/v1/code/*.jsonld and core AssistanceUnit.jsonld), copied
 * here because the binary does not ship the schema files; tests/registries/ibr_codes_test.ts checks that each
 * list still equals its file. Values are sent as the code list's label (the yaml's examples send `Active`,
 * `Cash`) and read from the label, the numeric code (`1`) or the prefixed code (`benefit:1`), case-insensitively.
 */

/** One code list: labels in code order (code N is `labels[N - 1]`). */
export interface CodeList {
  /** The class name (the range the JSON-LD classes name). */
  name: string;
  labels: readonly string[];
}

/** AssistanceUnitEnum (core): who benefits. */
export const ASSISTANCE_UNIT: CodeList = {
  name: "AssistanceUnitEnum",
  labels: ["Member (Person/Individual)", "Household", "Family"],
};

/** EnrollmentStatusEnum: a beneficiary's status in one programme. */
export const ENROLLMENT_STATUS: CodeList = {
  name: "EnrollmentStatusEnum",
  labels: ["Active", "Deceased", "Graduated", "Suspended"],
};

/** BenefitTypeEnum. */
export const BENEFIT_TYPE: CodeList = {
  name: "BenefitTypeEnum",
  labels: ["Cash", "Voucher", "In-kind", "Training", "Work Opportunity", "Insurance"],
};

/** InstitutionEnum: who implements a programme. */
export const INSTITUTION: CodeList = {
  name: "InstitutionEnum",
  labels: [
    "Public",
    "Private",
    "International Organization",
    "NGO",
    "CSO",
    "Religious institution",
    "Philanthropy",
    "Other",
  ],
};

/** LegalStatusEnum of a programme. */
export const LEGAL_STATUS: CodeList = {
  name: "LegalStatusEnum",
  labels: ["Anchored in national legislation", "Not anchored (charity, NGO etc)", "Not yet implemented"],
};

/** ContributionTypeEnum of a programme. */
export const CONTRIBUTION_TYPE: CodeList = {
  name: "ContributionTypeEnum",
  labels: ["Contributory – mandatory", "Contributory – voluntary", "Non-contributory"],
};

/** ProgrammeTypeEnum (the file lists 14 codes; its oneOf also names a `programme:15` it never defines). */
export const PROGRAMME_TYPE: CodeList = {
  name: "ProgrammeTypeEnum",
  labels: [
    "Unconditional cash transfers (poverty targeted)",
    "Conditional cash transfers (poverty targeted)",
    "Universal categorical",
    "Food and in-kind transfers",
    "School feeding",
    "Public works, workfare and direct job creation",
    "Fee waivers and targeted subsidies",
    "Other social assistance",
    "Social insurance (maternity, health, unemployment)",
    "Provident fund",
    "Occupational pension",
    "Notional defined contribution",
    "Employer liability",
    "Other employment-related",
  ],
};

/** SocialProtectionFunctionEnum (labels trimmed: the file has trailing spaces on two). */
export const SP_FUNCTION: CodeList = {
  name: "SocialProtectionFunctionEnum",
  labels: [
    "Old Age",
    "Invalidity / Disability Survivorships",
    "Sickness (in cash)",
    "Maternity / Paternity Children",
    "Family",
    "Access to Education",
    "Unemployment",
    "Employment Injury",
    "Healthcare",
    "Social Work Services",
    "Public Works Programs",
    "Housing Subsidies",
    "Food and Nutrition",
    "Social Assistance targeted at poverty reduction",
    "Other support/assistance",
  ],
};

/** RRULE frequencies (BenefitFrequency.freq refers to the RRULE). */
export const FREQUENCIES = [
  "YEARLY",
  "MONTHLY",
  "WEEKLY",
  "DAILY",
  "HOURLY",
  "MINUTELY",
  "SECONDLY",
] as const;

/** Folds a label or code for comparison: lower case, dashes and underscores as spaces, spaces collapsed. */
function fold(s: string): string {
  return s.toLowerCase().replace(/[–—_-]+/g, " ").replace(/\s+/g, " ").trim();
}

/** The label of `raw` in `list` (label, code `N` or `prefix:N`, case-insensitive), or undefined. */
export function codeLabel(list: CodeList, raw: unknown): string | undefined {
  if (typeof raw === "number" && Number.isInteger(raw)) raw = String(raw);
  if (typeof raw !== "string" || raw.length > 128) return undefined;
  const last = raw.includes(":") ? raw.slice(raw.lastIndexOf(":") + 1) : raw;
  if (/^\d{1,2}$/.test(last.trim())) return list.labels[Number(last.trim()) - 1];
  const folded = fold(raw);
  return list.labels.find((l) => fold(l) === folded);
}

/** The value a searchable enum attribute stores and compares (`upper` kind): the label in upper case. */
export function searchValue(label: string): string {
  return label.toUpperCase();
}
