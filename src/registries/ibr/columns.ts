/**
 * CSV columns of the IBR registry beside the shared ones (id, record_type, identifiers, names, sex, dates,
 * address, group_id, relationship, ...: src/registry/csv.ts). A CSV row carries one enrolment with one benefit
 * (a list path ending in `[]` takes `|`-separated values); JSON and NDJSON take any number of each, in the
 * input shape of ./details.ts. `record_type` is Beneficiary (a person), Group (a household) or Programme.
 */
import type { ImportColumn } from "../profile.ts";

const E = "details.enrolments";
const B = `${E}.benefits`;

/** The IBR import columns. */
export const IBR_IMPORT_COLUMNS: readonly ImportColumn[] = [
  {
    column: "assistance_unit",
    path: "details.assistance_unit",
    description: "Member (Person/Individual), Household or Family",
  },
  {
    column: "programme_identifier",
    path: `${E}.programme_identifier`,
    description: "beneficiary: the programme enrolled in (its identifier)",
  },
  {
    column: "programme_name",
    path: `${E}.programme_name`,
    description: "beneficiary: that programme's name",
  },
  {
    column: "enrollment_date",
    path: `${E}.enrollment_date`,
    description: "beneficiary: date enrolled (YYYY-MM-DD)",
  },
  {
    column: "enrollment_status",
    path: `${E}.enrollment_status`,
    description: "beneficiary: Active, Deceased, Graduated or Suspended",
  },
  {
    column: "status_change_date",
    path: `${E}.status_change_date[]`,
    description: "beneficiary: dates the status changed (|-separated)",
  },
  {
    column: "benefit_type",
    path: `${B}.benefit_type`,
    description:
      "beneficiary: a benefit received: Cash, Voucher, In-kind, Training, Work Opportunity, Insurance",
  },
  {
    column: "benefit_date",
    path: `${B}.benefit_date`,
    description: "beneficiary: the date it was received (YYYY-MM-DD)",
  },
  {
    column: "benefit_value",
    path: `${B}.benefit_value`,
    description: 'beneficiary: its value, e.g. "USD 50"',
  },
  {
    column: "benefit_description",
    path: `${B}.benefit_description`,
    description: "beneficiary: what it was (in-kind)",
  },
  {
    column: "benefit_quantity",
    path: `${B}.benefit_quantity`,
    description: "beneficiary: how many (integer)",
  },
  {
    column: "programme_id",
    path: "details.programme_identifier",
    description: "programme record: its identifier",
  },
  { column: "programme_title", path: "details.programme_name", description: "programme record: its name" },
  {
    column: "programme_description",
    path: "details.programme_description",
    description: "programme record: description",
  },
  {
    column: "implementing_institution",
    path: "details.implementing_institution",
    description: "programme record: who implements it",
  },
  {
    column: "institution_type",
    path: "details.institution_type",
    description: "programme record: InstitutionEnum label (Public, NGO, ...)",
  },
  {
    column: "legal_status",
    path: "details.legal_status",
    description: "programme record: LegalStatusEnum label",
  },
  {
    column: "social_protection_functions",
    path: "details.social_protection_functions[]",
    description: "programme record: SocialProtectionFunctionEnum labels (|-separated)",
  },
  {
    column: "contribution_type",
    path: "details.contribution_type",
    description: "programme record: ContributionTypeEnum label",
  },
  {
    column: "programme_type",
    path: "details.programme_type",
    description: "programme record: ProgrammeTypeEnum label",
  },
];
