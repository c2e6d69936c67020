/**
 * The IBR demo: the partners' fixed test records first — programme `DCI001` "Test Programme" (the yaml's example
 * programme) and beneficiary `IBR-TEST-001` (UIN `BENEFICIARY-TEST-001`, NID `ABC451123`: the person of the
 * yaml's EnrolledRequest example), enrolled in it, Active, with a cash benefit — then `count` deterministic
 * synthetic records: a few programmes, and households (a Group, enrolled in a household programme, then its
 * members, some enrolled in their own right). Same `count` and `seed` → same records. Places are the social
 * demo's region and locality codes, so they resolve in the demo location hierarchy.
 */
import type { Obj } from "./fields.ts";
import { DEMO_PLACES, prng } from "../social/seed.ts";

/** The fixed test records' ids. */
export const TEST_PROGRAMME = "DCI001";
export const TEST_BENEFICIARY = "IBR-TEST-001";

const PLACES = DEMO_PLACES;
const REGIONS = Object.keys(PLACES);
const GIVEN = ["Amani", "Baraka", "Chloe", "Daniela", "Esther", "Farid", "Grace", "Hassan", "Imani", "Kofi"];
const SURNAMES = ["Abebe", "Banda", "Costa", "Diallo", "Haile", "Juma", "Kamau", "Mensah", "Okafor", "Tembo"];

/** Synthetic programmes: [name, programme type, SP function, benefit type, household programme?]. */
const PROGRAMMES: ReadonlyArray<readonly [string, string, string, string, boolean]> = [
  ["Household Cash Transfer", "Unconditional cash transfers (poverty targeted)", "Family", "Cash", true],
  ["Old Age Pension", "Universal categorical", "Old Age", "Cash", false],
  ["School Meals", "School feeding", "Access to Education", "In-kind", false],
  ["Food Voucher Scheme", "Food and in-kind transfers", "Food and Nutrition", "Voucher", true],
];
const STATUSES = ["Active", "Active", "Active", "Suspended", "Graduated"];
const DAY = 86_400_000;

function day(start: number, offsetDays: number): string {
  return new Date(start + offsetDays * DAY).toISOString().slice(0, 10);
}

function fixedRecords(): Obj[] {
  return [
    {
      id: TEST_PROGRAMME,
      record_type: "Programme",
      group_identifier: [{ identifier_type: "PROGRAMME_ID", identifier_value: TEST_PROGRAMME }],
      registration_date: "2024-01-15T00:00:00Z",
      details: {
        programme_identifier: TEST_PROGRAMME,
        programme_name: "Test Programme",
        programme_description: "The partners' test programme: a monthly cash transfer to poor households",
        implementing_institution: "Ministry of Social Development",
        institution_type: "Public",
        legal_status: "Anchored in national legislation",
        social_protection_functions: ["Social Assistance targeted at poverty reduction"],
        contribution_type: "Non-contributory",
        programme_type: "Unconditional cash transfers (poverty targeted)",
        benefit_frequency: [{ freq: "MONTHLY", dtstart: "2024-02-01", interval: 1 }],
      },
    },
    {
      id: TEST_BENEFICIARY,
      record_type: "Beneficiary",
      identifier: [
        { identifier_type: "UIN", identifier_value: "BENEFICIARY-TEST-001" },
        { identifier_type: "NID", identifier_value: "ABC451123" },
      ],
      name: { given_name: "Test", second_name: "Test2", surname: "Test3" },
      sex: "female",
      birth_date: "2004-05-02",
      address: [{ locality: "Riverside", region_code: "central_region", country_code: "ZZ" }],
      registration_date: "2024-02-02T00:00:00Z",
      details: {
        assistance_unit: "Member (Person/Individual)",
        enrolments: [{
          programme_identifier: TEST_PROGRAMME,
          programme_name: "Test Programme",
          enrollment_date: "2024-02-02",
          enrollment_status: "Active",
          benefits: [{ benefit_type: "Cash", benefit_date: "2024-05-02", benefit_value: "USD 50" }],
        }],
      },
    },
  ];
}

function programmeRecord(i: number, seed: number): Obj {
  const [name, type, fn, , household] = PROGRAMMES[i];
  const id = `PRG${seed}-${i + 1}`;
  return {
    id,
    record_type: "Programme",
    group_identifier: [{ identifier_type: "PROGRAMME_ID", identifier_value: id }],
    registration_date: "2018-01-01T00:00:00Z",
    details: {
      programme_identifier: id,
      programme_name: name,
      implementing_institution: household ? "Social Welfare Agency" : "Ministry of Social Development",
      institution_type: "Public",
      legal_status: "Anchored in national legislation",
      social_protection_functions: [fn],
      contribution_type: "Non-contributory",
      programme_type: type,
      benefit_frequency: [{ freq: "MONTHLY", dtstart: "2018-01-01", interval: 1 }],
    },
  };
}

/** One synthetic enrolment in programme `i` (with up to three monthly benefits). */
function enrolmentIn(i: number, seed: number, rnd: () => number): Obj {
  const [name, , , benefitType] = PROGRAMMES[i];
  const start = Date.UTC(2018, 0, 1) + Math.floor(rnd() * 2500) * DAY;
  const status = STATUSES[Math.floor(rnd() * STATUSES.length)];
  const benefits = Array.from({ length: Math.floor(rnd() * 4) }, (_, k) => ({
    benefit_type: benefitType,
    benefit_date: day(start, 30 * (k + 1)),
    ...(benefitType === "Cash" ? { benefit_value: `USD ${20 + Math.floor(rnd() * 80)}` } : {}),
    ...(benefitType === "In-kind" ? { benefit_description: "school meals", benefit_quantity: 20 } : {}),
  }));
  return {
    programme_identifier: `PRG${seed}-${i + 1}`,
    programme_name: name,
    enrollment_date: day(start, 0),
    enrollment_status: status,
    ...(status !== "Active" ? { status_change_date: [day(start, 200)] } : {}),
    benefits,
  };
}

/** The demo records (RegistryProfile.demo): the fixed test records, then `count` synthetic ones. */
export function* ibrDemo(count: number, seed: number): Generator<Obj> {
  yield* fixedRecords();
  const rnd = prng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)];
  let made = 0;
  for (let i = 0; i < PROGRAMMES.length && made < count; i++, made++) yield programmeRecord(i, seed);
  let household = 0;
  while (made < count) {
    household++;
    const hh = `IBRH${seed}-${String(household).padStart(6, "0")}`;
    const region = pick(REGIONS);
    const address = [{ locality: pick(PLACES[region]), region_code: region, country_code: "ZZ" }];
    const surname = pick(SURNAMES);
    const hhProgramme = rnd() < 0.5 ? 0 : 3;
    yield {
      id: hh,
      record_type: "Group",
      group_identifier: [{ identifier_type: "HOUSEHOLD_ID", identifier_value: hh }],
      group_type: "household",
      address,
      registration_date: "2019-06-01T00:00:00Z",
      details: { assistance_unit: "Household", enrolments: [enrolmentIn(hhProgramme, seed, rnd)] },
    };
    made++;
    const size = Math.min(count - made, 1 + Math.floor(rnd() * 4));
    for (let m = 0; m < size; m++, made++) {
      const index = made;
      const age = m === 0 ? 25 + Math.floor(rnd() * 50) : Math.floor(rnd() * 18);
      const own = m === 0 && age >= 60
        ? [enrolmentIn(1, seed, rnd)]
        : m > 0 && age >= 6 && rnd() < 0.6
        ? [enrolmentIn(2, seed, rnd)]
        : [];
      yield {
        id: `IBRP${seed}-${String(index).padStart(7, "0")}`,
        record_type: "Beneficiary",
        identifier: [{
          identifier_type: "UIN",
          identifier_value: `9${seed}${String(index).padStart(9, "0")}`,
        }],
        name: { given_name: pick(GIVEN), surname },
        sex: rnd() < 0.5 ? "male" : "female",
        birth_date: day(Date.UTC(2026, 0, 1), -Math.floor((age + rnd()) * 365.25)),
        address,
        group_id: hh,
        relationship: m === 0 ? "SELF" : "CHILD",
        registration_date: "2019-06-01T00:00:00Z",
        ...(own.length ? { details: { enrolments: own } } : {}),
      };
    }
  }
}
