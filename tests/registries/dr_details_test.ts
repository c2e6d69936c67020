/** readDrDetails(): the DR part of an input record, checked, bounded and normalised; unknown fields refused. */
import assert from "node:assert/strict";
import { readDrDetails } from "../../src/registries/dr/profile.ts";
import { DR_RECORD_TYPES } from "../../src/registries/dr/record_types.ts";

type Json = Record<string, unknown>;
const PERSON = DR_RECORD_TYPES[0];
const GROUP = DR_RECORD_TYPES.find((t) => t.kind === "group")!;

function read(details: unknown, def = PERSON): { details?: Json; errors: string[] } {
  const errors: string[] = [];
  const out = readDrDetails({ id: "x", details } as Json, def, errors);
  return { details: out, errors };
}

Deno.test("readDrDetails() normalises codes to labels, aliases to class names, dates to UTC and id types", () => {
  const { details, errors } = read({
    disability_status: "status:0",
    disability_level: "severe",
    disability_details: [{
      impairment_type: "VISION",
      impairment_cause: "road_accident",
      age_onset: "childhood",
    }],
    disability_support: {
      human_assistance: {
        type: "assistance:mobility",
        frequency: "daily",
        support_status: "support:0",
        relationship: "parent",
        caregiver: { identifier: [{ type: "uin", value: 42 }], name: { first_name: " Ann " } },
        registration_date: "2024-01-15T10:00:00+02:00",
      },
      assistive_technology: [{ type: "tech:1", status: "received" }],
      last_updated: "2024-02-01",
    },
    programs_enrollments: [{ programme_identifier: "P-1", programme_name: "Allowance" }],
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(details, {
    disability_status: "Approved",
    disability_status_level: "Severe",
    disability_details: [{
      impairment_type: "Vision",
      impairment_cause: "Road accident",
      age_on_set: "Childhood",
    }],
    disability_support: [{
      human_assistance: [{
        type: "mobility",
        intensity: "Daily",
        support: "Needed",
        relationship: "PRN",
        caregiver: {
          identifier: [{ identifier_type: "UIN", identifier_value: "42" }],
          name: { given_name: "Ann" },
        },
        registration_date: "2024-01-15T08:00:00.000Z",
      }],
      assistive_technology: [{ type: "Wheelchairs", status: "Received" }],
      last_updated: "2024-02-01T00:00:00.000Z",
    }],
    programs_enrolments: [{ programme_identifier: "P-1", programme_name: "Allowance" }],
  });
});

Deno.test("readDrDetails() refuses every unknown field by its path, at any depth", () => {
  const { errors } = read({
    colour: "red",
    disability_details: [{ impairment_type: "Vision" }, { impairment_type: "Hearing", severity: "high" }],
    disability_support: [{ medical_care: [{ type: "Constant healthcare", cost: 3 }] }],
  });
  assert.deepEqual(errors, [
    "details.colour: unknown field",
    "details.disability_details[1].severity: unknown field",
    "details.disability_support[0].medical_care[0].cost: unknown field",
  ]);
});

Deno.test("readDrDetails() refuses a value outside its code list, naming the field and the list", () => {
  const { errors } = read({ disability_status: "Approved", housing_type: "Castle", disability_level: 3 });
  assert.equal(errors.length, 2);
  assert.match(errors[0], /^details\.housing_type: "Castle" is not a HousingType code \(Own home\/rent, /);
  assert.match(errors[1], /^details\.disability_level: 3 is not a DisabilityLevelEnum code/);
});

Deno.test("readDrDetails() refuses bad dates, identifier types, relationships and text", () => {
  const { errors } = read({
    disability_support: [{
      registration_date: "2024-02-30",
      human_assistance: [{
        type: "mobility",
        relationship: "neighbour",
        caregiver: {
          identifier: [{ identifier_type: "not a type!", identifier_value: "1" }],
          name: { surname: {} },
        },
      }],
    }],
  });
  assert.deepEqual(errors, [
    'details.disability_support[0].registration_date: "2024-02-30" is not an ISO 8601 date or date-time with zone',
    'details.disability_support[0].human_assistance[0].relationship: "neighbour" is not a RelationshipTypeEnum code',
    'details.disability_support[0].human_assistance[0].caregiver.identifier[0].identifier_type: "not a type!" ' +
    "is not an identifier type",
    "details.disability_support[0].human_assistance[0].caregiver.name.surname: expected a string of 1 to 256 " +
    "characters",
  ]);
});

Deno.test("readDrDetails() bounds lists, strings and the number of keys", () => {
  const many = Array.from({ length: 17 }, () => ({ impairment_type: "Vision" }));
  assert.deepEqual(read({ disability_details: many }).errors, [
    "details.disability_details: at most 16 entries",
  ]);
  const long = read({ programs_enrolments: [{ programme_name: "x".repeat(257) }] }).errors;
  assert.deepEqual(long, [
    "details.programs_enrolments[0].programme_name: expected a string of 1 to 256 characters",
  ]);
  const keys = Object.fromEntries(Array.from({ length: 65 }, (_, i) => [`k${i}`, 1]));
  assert.deepEqual(read(keys).errors, ["details: more than 64 fields"]);
  assert.deepEqual(read([1, 2]).errors, ["details: expected an object"]);
  const help = Array.from(
    { length: 16 },
    () => ({ type: "mobility", caregiver: { name: { surname: "y".repeat(256) } } }),
  );
  const big = read({ disability_support: Array.from({ length: 8 }, () => ({ human_assistance: help })) });
  assert.deepEqual(big, { details: undefined, errors: ["details: larger than 32 KiB"] });
});

Deno.test("readDrDetails() requires an entry's type, drops empty entries and reads indexed import columns", () => {
  assert.deepEqual(read({ disability_details: [{ impairment_level: "Mild" }] }).errors, [
    "details.disability_details[0].impairment_type: required",
  ]);
  const csv = read({
    disability_status: "Approved",
    disability_details: { "0": { impairment_type: "Speech", impairment_level: "" } },
    disability_support: { "0": { human_assistance: { "0": { type: "", intensity: "" } } } },
    housing_type: "",
  });
  assert.deepEqual(csv, {
    details: { disability_status: "Approved", disability_details: [{ impairment_type: "Speech" }] },
    errors: [],
  });
  assert.deepEqual(read({}), { details: undefined, errors: [] });
  assert.deepEqual(read(undefined), { details: undefined, errors: [] });
});

Deno.test("readDrDetails() refuses details on a group and a field given under two names", () => {
  assert.deepEqual(read({ disability_status: "Approved" }, GROUP).errors, [
    "details: a DR group has no registry-specific fields",
  ]);
  assert.deepEqual(read({ disability_level: "Mild", disability_status_level: "Mild" }).errors, [
    "details.disability_status_level: disability_status_level is given twice",
  ]);
});
