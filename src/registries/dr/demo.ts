/**
 * The DR demo: the partners' fixed test household first (a person with an approved disability and the support
 * she receives, and her caregiver, who is in the registry without a disability), then `count` deterministic
 * synthetic persons with disabilities. Same `count` and `seed` → same records. Places are the social demo's
 * regions and localities, so their codes resolve in the locations API.
 */
import { DEMO_PLACES, prng } from "../social/seed.ts";
import { CODES, labels } from "./codes.ts";

type Json = Record<string, unknown>;

/** UIN of the fixed test person with a recorded (approved) disability: `sync/disabled` answers yes. */
export const DR_TEST_UIN = "DISABILITY-TEST-001";
/** UIN of her caregiver, registered without a disability: `sync/disabled` answers no. */
export const DR_TEST_CAREGIVER_UIN = "CAREGIVER-TEST-001";

const TEST_ADDRESS = {
  address_line_1: "12 Station Road",
  locality: "Riverside",
  region_code: "central_region",
  postal_code: "1012",
  country_code: "ZZ",
};
const TEST_REGISTERED = "2024-01-15T09:00:00.000Z";

/** The fixed test records (group first, so its members can point at it). */
export function drTestRecords(): Json[] {
  return [
    {
      id: "DRG-TEST-001",
      record_type: "Group",
      group_identifier: [{ identifier_type: "HOUSEHOLD_ID", identifier_value: "DR-HH-TEST-001" }],
      group_type: "household",
      group_size: 2,
      address: TEST_ADDRESS,
      registration_date: TEST_REGISTERED,
    },
    {
      id: "DR-TEST-001",
      record_type: "PWDPerson",
      identifier: [
        { identifier_type: "UIN", identifier_value: DR_TEST_UIN },
        { identifier_type: "PWD_ID", identifier_value: "PWD-TEST-001" },
      ],
      name: { given_name: "Grace", surname: "Banda" },
      sex: "female",
      birth_date: "1985-03-14",
      address: TEST_ADDRESS,
      group_id: "DRG-TEST-001",
      relationship: "SELF",
      registration_date: TEST_REGISTERED,
      details: {
        disability_status: "Approved",
        disability_status_level: "Severe",
        disability_details: [{
          impairment_type: "Mobility",
          impairment_level: "Severe",
          impairment_cause: "Road accident",
          age_on_set: "Working age",
        }],
        disability_support: [{
          human_assistance: [{
            type: "mobility",
            intensity: "Daily",
            support: "Received",
            caregiver: {
              identifier: [{ identifier_type: "UIN", identifier_value: DR_TEST_CAREGIVER_UIN }],
              name: { given_name: "Samuel", surname: "Banda" },
            },
            relationship: "SPS",
            registration_date: "2024-02-01T00:00:00Z",
          }],
          assistive_technology: [{ type: "Wheelchairs", status: "Received" }],
          medical_care: [{ type: "Maintenance medicine", status: "Needed" }],
          registration_date: "2024-02-01T00:00:00Z",
        }],
        transport_requirement: "Adaptable vehical",
        housing_type: "Own home/rent",
        programs_enrolments: [{
          programme_identifier: "PRG-DISABILITY-001",
          programme_name: "Disability allowance",
        }],
      },
    },
    {
      id: "DR-TEST-002",
      record_type: "PWDPerson",
      identifier: [{ identifier_type: "UIN", identifier_value: DR_TEST_CAREGIVER_UIN }],
      name: { given_name: "Samuel", surname: "Banda" },
      sex: "male",
      birth_date: "1982-07-02",
      address: TEST_ADDRESS,
      group_id: "DRG-TEST-001",
      relationship: "PRIMSPOUS",
      registration_date: TEST_REGISTERED,
    },
  ];
}

const GIVEN = ["Amani", "Aisha", "Baraka", "Chloe", "Daniel", "Esther", "Farid", "Hana", "Kofi", "Maya"];
const SURNAMES = [
  "Abebe",
  "Costa",
  "Diallo",
  "Haile",
  "Kamau",
  "Mensah",
  "Okafor",
  "Perera",
  "Reyes",
  "Tembo",
];
const REGIONS = Object.keys(DEMO_PLACES);
const DAY = 86_400_000;
const REFERENCE_DAY = Date.UTC(2026, 0, 1);

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** One synthetic person with a disability. */
function synthetic(index: number, seed: number, rnd: () => number): Json {
  const pick = <T>(list: readonly T[]): T => list[Math.floor(rnd() * list.length)];
  const region = pick(REGIONS);
  const age = 1 + Math.floor(rnd() * 90);
  const r = rnd();
  const status = r < 0.7 ? "Approved" : r < 0.9 ? "Pending" : "Expired";
  const impairments = Array.from({ length: 1 + Math.floor(rnd() * rnd() * 3) }, () => ({
    impairment_type: pick(labels(CODES.ImpairmentType)),
    impairment_level: pick(labels(CODES.ImpairmentLevel)),
    impairment_cause: pick(labels(CODES.ImpairmentCause)),
    age_on_set: age < 18 ? pick(["Born With", "Childhood"]) : pick(labels(CODES.DisabilityOnSet)),
  }));
  const needed = () => pick(labels(CODES.SupportStatusEnum));
  const support: Json = {};
  if (rnd() < 0.6) {
    support.human_assistance = [{
      type: pick(labels(CODES.HumanAssistanceType)),
      intensity: pick(labels(CODES.SupportFrequency)),
      support: needed(),
    }];
  }
  if (rnd() < 0.5) {
    support.assistive_technology = [{ type: pick(labels(CODES.AssistiveTechnologyEnum)), status: needed() }];
  }
  if (rnd() < 0.3) support.medical_care = [{ type: pick(labels(CODES.MedicalCareEnum)), status: needed() }];
  if (rnd() < 0.2) {
    support.housing_support = [{ type: pick(labels(CODES.HousingSupportEnum)), status: needed() }];
  }
  if (rnd() < 0.05) {
    support.animal_assistance = [{ type: pick(labels(CODES.AnimalAssistanceEnum)), status: needed() }];
  }
  const registered = new Date(Date.UTC(2015, 0, 1) + Math.floor(rnd() * 3650) * DAY).toISOString();
  return {
    id: `DR${seed}-${pad(index + 1, 8)}`,
    record_type: "PWDPerson",
    identifier: [
      // A distinct 10-digit UIN per index (an odd multiplier is a bijection modulo 2^32).
      {
        identifier_type: "UIN",
        identifier_value: pad((Math.imul(index + 1, 0x2c1b3c6d) + Math.imul(seed, 0x297a2d39)) >>> 0, 10),
      },
      { identifier_type: "PWD_ID", identifier_value: `PWD${seed}-${pad(index + 1, 8)}` },
    ],
    name: { given_name: pick(GIVEN), surname: pick(SURNAMES) },
    sex: rnd() < 0.5 ? "male" : "female",
    birth_date: new Date(REFERENCE_DAY - (age * 365.25 + rnd() * 365) * DAY).toISOString().slice(0, 10),
    address: { locality: pick(DEMO_PLACES[region]), region_code: region, country_code: "ZZ" },
    registration_date: registered,
    details: {
      disability_status: status,
      disability_status_level: pick(labels(CODES.DisabilityLevelEnum)),
      disability_details: impairments,
      ...(Object.keys(support).length
        ? { disability_support: [{ ...support, registration_date: registered }] }
        : {}),
      transport_requirement: pick(labels(CODES.TransportRequirement)),
      housing_type: pick(labels(CODES.HousingType)),
      ...(rnd() < 0.4
        ? {
          programs_enrolments: [{
            programme_identifier: "PRG-DISABILITY-001",
            programme_name: "Disability allowance",
          }],
        }
        : {}),
    },
  };
}

/** Demo input records: the fixed test records, then `count` synthetic persons (RegistryProfile.demo). */
export function* drDemo(count: number, seed: number): Generator<Json> {
  yield* drTestRecords();
  const rnd = prng(seed);
  for (let i = 0; i < count; i++) yield synthetic(i, seed, rnd);
}
