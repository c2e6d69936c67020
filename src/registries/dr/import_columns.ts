/**
 * The DR columns of a CSV import (beside the core columns every registry has: id, record_type, names,
 * identifiers, sex, birth_date, address, group_id, relationship, ...). A CSV row holds one impairment and one
 * entry of each support category; JSON and NDJSON imports take the `details` object whole, with any number.
 * Values are code labels or ids (`Approved`, `status:0`), compared case-insensitively. A numeric path segment
 * (`disability_details.0`) is a list index: the reader takes a list, or an object keyed "0", "1", ...
 */
import type { ImportColumn } from "../profile.ts";

const SUPPORT = "details.disability_support.0";

/** DR import columns (CSV header → input record path). */
export const DR_IMPORT_COLUMNS: readonly ImportColumn[] = [
  {
    column: "disability_status",
    path: "details.disability_status",
    description: "Approved, Pending or Expired",
  },
  {
    column: "disability_level",
    path: "details.disability_status_level",
    description: "DisabilityLevelEnum: High Support Needs (...), Severe, Moderate, Mild",
  },
  {
    column: "impairment_type",
    path: "details.disability_details.0.impairment_type",
    description: "ImpairmentType: Vision, Hearing, Mobility, Cognitive, Speech, Mental",
  },
  {
    column: "impairment_level",
    path: "details.disability_details.0.impairment_level",
    description: "ImpairmentLevel: Mild, Moderate, Severe, Extreme",
  },
  {
    column: "impairment_cause",
    path: "details.disability_details.0.impairment_cause",
    description: "ImpairmentCause: Birth congenital, Illness, Road accident, Work accident, Ageing, ...",
  },
  {
    column: "age_on_set",
    path: "details.disability_details.0.age_on_set",
    description: "DisabilityOnSet: Born With, Childhood, Working age, Old age",
  },
  {
    column: "human_assistance_type",
    path: `${SUPPORT}.human_assistance.0.type`,
    description: "HumanAssistanceType: Basic Activity, mobility, Communication, Decision Making, Multiple",
  },
  {
    column: "human_assistance_intensity",
    path: `${SUPPORT}.human_assistance.0.intensity`,
    description: "SupportFrequency: Permanent, Daily, Weekly, Occasional, None",
  },
  {
    column: "human_assistance_support",
    path: `${SUPPORT}.human_assistance.0.support`,
    description: "SupportStatusEnum: Needed, Received",
  },
  {
    column: "caregiver_id_type",
    path: `${SUPPORT}.human_assistance.0.caregiver.identifier.0.identifier_type`,
    description: "type of the caregiver's identifier (UIN, ...)",
  },
  {
    column: "caregiver_id_value",
    path: `${SUPPORT}.human_assistance.0.caregiver.identifier.0.identifier_value`,
    description: "the caregiver's identifier (with caregiver_id_type)",
  },
  {
    column: "caregiver_relationship",
    path: `${SUPPORT}.human_assistance.0.relationship`,
    description: "RelationshipTypeEnum code or label (PRN, SPS, parent, ...)",
  },
  {
    column: "assistive_technology",
    path: `${SUPPORT}.assistive_technology.0.type`,
    description: "AssistiveTechnologyEnum: Wheelchairs, Speech-generating devices (SGDs), Hearing aids",
  },
  {
    column: "assistive_technology_status",
    path: `${SUPPORT}.assistive_technology.0.status`,
    description: "Needed or Received",
  },
  {
    column: "medical_care",
    path: `${SUPPORT}.medical_care.0.type`,
    description: "MedicalCareEnum: Maintenance medicine, Specialized habitation, Constant healthcare",
  },
  {
    column: "medical_care_status",
    path: `${SUPPORT}.medical_care.0.status`,
    description: "Needed or Received",
  },
  {
    column: "housing_support",
    path: `${SUPPORT}.housing_support.0.type`,
    description: "HousingSupportEnum: Home Adaptation, Relocation, Utility cost",
  },
  {
    column: "housing_support_status",
    path: `${SUPPORT}.housing_support.0.status`,
    description: "Needed or Received",
  },
  {
    column: "animal_assistance",
    path: `${SUPPORT}.animal_assistance.0.type`,
    description: "AnimalAssistanceEnum: Service Dog, Therapy Animal, Other",
  },
  {
    column: "animal_assistance_status",
    path: `${SUPPORT}.animal_assistance.0.status`,
    description: "Needed or Received",
  },
  {
    column: "transport_requirement",
    path: "details.transport_requirement",
    description:
      "TransportRequirement: Public transportation, Point to point transportation, Adaptable vehical",
  },
  {
    column: "housing_type",
    path: "details.housing_type",
    description: "HousingType: Own home/rent, Living in relatives’ home, Social housing, Care institution",
  },
  {
    column: "programme_identifier",
    path: "details.programs_enrolments.0.programme_identifier",
    description: "identifier of a programme the person is enrolled in",
  },
  {
    column: "programme_name",
    path: "details.programs_enrolments.0.programme_name",
    description: "name of that programme",
  },
];
