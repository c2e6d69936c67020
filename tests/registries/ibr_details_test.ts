/** IBR readDetails: normalises beneficiary and programme details, refuses what it does not know naming the field. */
import assert from "node:assert/strict";
import { detailErrors, toRegistrant } from "./ibr_fixture.ts";
import { MAX_ENROLMENTS } from "../../src/registries/ibr/details.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

function beneficiary(details: Json, extra: Json = {}): Json {
  return {
    id: "B-1",
    record_type: "Beneficiary",
    identifier: [{ identifier_type: "UIN", identifier_value: "U-1" }],
    ...extra,
    details,
  };
}

const ENROLMENT = {
  programme_identifier: "DCI001",
  programme_name: "Test Programme",
  enrolment_date: "2024-02-02T10:00:00Z",
  enrolment_status: "benefit:1",
  status_change_date: ["2024-06-01", "2024-03-01"],
  benefits: [{
    benefit_type: "in_kind",
    benefit_date: "2024-05-02",
    benefit_value: "50 usd",
    benefit_quantity: "5",
  }],
};

Deno.test("IBR readDetails normalises enrolments: spellings, code-list labels, dates, currency, quantities", () => {
  const reg = toRegistrant(beneficiary({ assistance_unit: "1", enrolments: [ENROLMENT] }));
  assert.deepEqual(reg.details, {
    assistance_unit: "Member (Person/Individual)",
    enrolments: [{
      programme_identifier: "DCI001",
      programme_name: "Test Programme",
      enrollment_date: "2024-02-02",
      enrollment_status: "Active",
      status_change_date: ["2024-03-01", "2024-06-01"],
      benefits: [{
        benefit_type: "In-kind",
        benefit_date: "2024-05-02",
        benefit_value: "USD 50",
        benefit_quantity: 5,
      }],
    }],
  });
  assert.equal(reg.recordType, "ibr_person");
});

Deno.test("IBR readDetails refuses an unknown field at every level, naming it", () => {
  assert.deepEqual(detailErrors(beneficiary({ enrolments: [], colour: "red" })), [
    "details.colour: unknown field",
  ]);
  assert.deepEqual(
    detailErrors(beneficiary({ enrolments: [{ ...ENROLMENT, payment_ref: "x" }] })),
    ["details.enrolments[0].payment_ref: unknown field"],
  );
  assert.deepEqual(
    detailErrors(
      beneficiary({ enrolments: [{ ...ENROLMENT, benefits: [{ ...ENROLMENT.benefits[0], x: 1 }] }] }),
    ),
    ["details.enrolments[0].benefits[0].x: unknown field"],
  );
  assert.deepEqual(
    detailErrors({
      id: "P",
      record_type: "Programme",
      details: { programme_identifier: "P", programme_name: "P", y: 1 },
    }),
    ["details.y: unknown field"],
  );
});

Deno.test("IBR readDetails refuses values outside the code lists, bad dates and missing required fields", () => {
  const errors = detailErrors(beneficiary({
    enrolments: [{
      programme_identifier: "DCI 001",
      enrollment_date: "02.02.2024",
      enrollment_status: "Enrolled",
      benefits: [{ benefit_type: "Gold", benefit_value: "fifty" }],
    }],
  }));
  assert.deepEqual(errors, [
    'details.enrolments[0].programme_identifier: "DCI 001" must match [A-Za-z0-9._:/-]{1,64}',
    "details.enrolments[0].programme_name: required",
    'details.enrolments[0].enrollment_date: "02.02.2024" is not a date (YYYY-MM-DD)',
    'details.enrolments[0].enrollment_status: "Enrolled" is not in EnrollmentStatusEnum (Active, Deceased, Graduated, Suspended)',
    'details.enrolments[0].benefits[0].benefit_type: "Gold" is not in BenefitTypeEnum (Cash, Voucher, In-kind, Training, Work Opportunity, Insurance)',
    "details.enrolments[0].benefits[0].benefit_date: required",
    'details.enrolments[0].benefits[0].benefit_value: "fifty" is not a currency amount like "USD 50"',
  ]);
});

Deno.test("IBR readDetails bounds lists and refuses a programme enrolled twice or a unit that does not fit", () => {
  const many = Array.from(
    { length: MAX_ENROLMENTS + 1 },
    (_, i) => ({ ...ENROLMENT, programme_identifier: `P${i}` }),
  );
  assert.deepEqual(detailErrors(beneficiary({ enrolments: many })), [
    `details.enrolments: at most ${MAX_ENROLMENTS} items`,
  ]);
  assert.deepEqual(detailErrors(beneficiary({ enrolments: [ENROLMENT, ENROLMENT] })), [
    "details.enrolments[1].programme_identifier: DCI001 is enrolled twice",
  ]);
  assert.match(
    detailErrors(beneficiary({ assistance_unit: "Household" }))[0],
    /^details\.assistance_unit: "Household" does not fit a person/,
  );
  assert.deepEqual(detailErrors(beneficiary("x")), ["details: expected an object"]);
  assert.deepEqual(detailErrors({ id: "P", record_type: "Programme" }), [
    "details: required (a programme's identifier and name)",
  ]);
});

Deno.test("IBR readDetails skips a CSV row's empty enrolment and benefit columns", () => {
  const reg = toRegistrant(beneficiary({
    enrolments: { programme_identifier: "", enrollment_status: "", benefits: { benefit_type: "" } },
  }));
  assert.deepEqual(reg.details, {});
  const one = toRegistrant(beneficiary({
    enrolments: {
      ...ENROLMENT,
      status_change_date: "2024-06-01",
      benefits: { benefit_type: "", benefit_date: "" },
    },
  }));
  assert.equal((one.details as Json).enrolments.length, 1);
  assert.equal((one.details as Json).enrolments[0].benefits, undefined);
});

Deno.test("IBR readDetails reads a programme declaration: labels, RRULE frequency, de-duplicated functions", () => {
  const reg = toRegistrant({
    id: "DCI001",
    record_type: "programme",
    details: {
      programme_identifier: "DCI001",
      programme_name: "Test Programme",
      institution_type: "ngo",
      legal_status: "1",
      social_protection_functions: ["Family", "5", "old age"],
      contribution_type: "non-contributory",
      programme_type: "programme:5",
      benefit_frequency: [{ freq: "monthly", dtstart: "2024-01-01T00:00:00Z", interval: 1, wkst: "mo" }],
    },
  });
  assert.equal(reg.recordType, "ibr_programme");
  assert.deepEqual(reg.details, {
    programme_identifier: "DCI001",
    programme_name: "Test Programme",
    institution_type: "NGO",
    legal_status: "Anchored in national legislation",
    social_protection_functions: ["Family", "Old Age"],
    contribution_type: "Non-contributory",
    programme_type: "School feeding",
    benefit_frequency: [{ freq: "MONTHLY", dtstart: "2024-01-01", interval: 1, wkst: "MO" }],
  });
  assert.deepEqual(
    detailErrors({
      id: "P",
      record_type: "Programme",
      details: { programme_identifier: "P", programme_name: "P", benefit_frequency: { freq: "SOMETIMES" } },
    }),
    ['details.benefit_frequency[0].freq: "SOMETIMES" is not an RRULE frequency (YEARLY, MONTHLY, WEEKLY, DAILY, HOURLY, MINUTELY, SECONDLY)'],
  );
});

Deno.test("IBR: the largest record readDetails accepts has at most 500 searchable values (the store's bound)", async () => {
  const { MAX_BENEFITS } = await import("../../src/registries/ibr/details.ts");
  const { ibrProfile } = await import("../../src/registries/ibr/index.ts");
  const enrolments = Array.from({ length: MAX_ENROLMENTS }, (_, i) => ({
    ...ENROLMENT,
    programme_identifier: `P${i}`,
    enrollment_date: `2020-01-${String(i + 1).padStart(2, "0")}`,
    benefits: Array.from({ length: MAX_BENEFITS }, (_, k) => ({
      benefit_type: String(1 + (k % 6)),
      benefit_date: `${2000 + i}-01-${String(k + 1).padStart(2, "0")}`,
    })),
  }));
  const reg = toRegistrant(beneficiary({ enrolments }));
  const count = ibrProfile.attributes.reduce((n, a) => n + a.values(reg).length, 0);
  assert.ok(count > 300 && count <= 500, `${count} values`);
  assert.deepEqual(
    detailErrors(
      beneficiary({
        enrolments: [{ ...ENROLMENT, benefits: Array(MAX_BENEFITS + 1).fill(ENROLMENT.benefits[0]) }],
      }),
    ),
    [`details.enrolments[0].benefits: at most ${MAX_BENEFITS} items`],
  );
});
