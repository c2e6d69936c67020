/**
 * DR records: the mapping of stored registrants (the demo's, through the input reader) validates against the
 * spdci DR classes; the demo is deterministic with the partners' test records first; the search attributes.
 */
import assert from "node:assert/strict";
import { drProfile } from "../../src/registries/dr/profile.ts";
import { DR_ATTRIBUTES, DR_GROUP, DR_PERSON } from "../../src/registries/dr/record_types.ts";
import { DR_TEST_CAREGIVER_UIN, DR_TEST_UIN } from "../../src/registries/dr/demo.ts";
import { demoRegistrants, readDr } from "./dr_fixture.ts";
import { validateDr } from "./dr_validator.ts";

const [PWD, GROUP] = drProfile.recordTypes;

Deno.test("toRecord() of every demo person is a valid PWDPerson (its demographics a DRPerson), of the household a Group", () => {
  const regs = demoRegistrants(200, 3);
  const persons = regs.filter((r) => r.recordType === DR_PERSON);
  assert.equal(persons.length, 202);
  for (const reg of persons) {
    const pwd = drProfile.toRecord(reg, PWD, { withContext: true });
    assert.deepEqual(validateDr(pwd, "PWDPerson"), [], reg.externalId);
    assert.equal(pwd["@type"], "PWDPerson");
    const person = (pwd.personal_details as Record<string, unknown>).demographic_info;
    assert.deepEqual(validateDr(person, "DRPerson"), []);
  }
  const [group] = regs.filter((r) => r.recordType === DR_GROUP);
  const members = persons.filter((p) => p.groupRef === group.externalId);
  const record = drProfile.toRecord(group, GROUP, { withContext: true, members });
  assert.deepEqual(validateDr(record, "Group"), []);
  assert.equal((record.member_list as unknown[]).length, 2);
  assert.equal((record.group_head_info as Record<string, unknown>)["@id"], "DR-TEST-001");
});

Deno.test("toRecord() of the partners' test person carries her disability, support and personal details", () => {
  const reg = demoRegistrants(0).find((r) => r.identifiers.some((i) => i.value === DR_TEST_UIN))!;
  // deno-lint-ignore no-explicit-any
  const record = drProfile.toRecord(reg, PWD, { withContext: true }) as Record<string, any>;
  assert.equal(record["@context"]["@vocab"], "https://schema.spdci.org/extensions/dr/v1/data");
  assert.equal(record.disability_status, "Approved");
  assert.equal(record.disability_status_level, "Severe");
  assert.equal(record.disability_details[0].impairment_type, "Mobility");
  const help = record.disability_support[0].human_assistance[0];
  assert.equal(help["@type"], "HumanAssistance");
  assert.equal(help.caregiver.identifier[0].identifier_value, DR_TEST_CAREGIVER_UIN);
  assert.equal(record.personal_details.demographic_info.name.given_name, "Grace");
  assert.equal(record.personal_details.member_identifier[0].identifier_value, DR_TEST_UIN);
});

Deno.test("the DR validator catches unknown properties, values outside a code list and bad dates", () => {
  const reg = readDr({
    id: "v-1",
    identifier: [{ identifier_type: "UIN", identifier_value: "1" }],
    details: { disability_status: "Approved" },
  });
  const record = drProfile.toRecord(reg, PWD, { withContext: false });
  assert.deepEqual(validateDr({ ...record, colour: "red" }, "PWDPerson"), [
    "PWDPerson.colour: not a property of PWDPerson",
  ]);
  assert.deepEqual(validateDr({ ...record, disability_status: "approved" }, "PWDPerson"), [
    'PWDPerson.disability_status: "approved" is not in DisabilityStatusEnum',
  ]);
  assert.deepEqual(validateDr({ ...record, last_updated: "2024-01-01" }, "PWDPerson"), [
    "PWDPerson.last_updated: expected an ISO 8601 date-time with zone",
  ]);
  assert.deepEqual(validateDr({ disability_details: { impairment_type: "Vision" } }, "PWDPerson"), [
    "PWDPerson.disability_details: expected a list",
  ]);
});

Deno.test("demo() is deterministic per (count, seed), partners' records first, and every record reads cleanly", () => {
  const a = JSON.stringify([...drProfile.demo(50, 7)]);
  assert.equal(JSON.stringify([...drProfile.demo(50, 7)]), a);
  assert.notEqual(JSON.stringify([...drProfile.demo(50, 8)]), a);
  const records = [...drProfile.demo(50, 7)];
  assert.equal(records.length, 53);
  assert.deepEqual(records.slice(0, 3).map((r) => r.id), ["DRG-TEST-001", "DR-TEST-001", "DR-TEST-002"]);
  const ids = new Set(records.flatMap((r) =>
    (r.identifier as Array<{ identifier_value: string }> ?? [])
      .map((i) => i.identifier_value)
  ));
  assert.equal(ids.size, 2 * 50 + 3, "identifiers are distinct");
  for (const raw of records) readDr(raw);
});

Deno.test("DR attributes extract status, level, impairment types, levels and causes, support types and statuses", () => {
  const reg = demoRegistrants(0).find((r) => r.externalId === "DR-TEST-001")!;
  const values = Object.fromEntries(DR_ATTRIBUTES.map((a) => [a.name, a.values(reg)]));
  assert.deepEqual(values, {
    disability_status: ["APPROVED"],
    disability_level: ["SEVERE"],
    impairment_type: ["MOBILITY"],
    impairment_level: ["SEVERE"],
    impairment_cause: ["ROAD ACCIDENT"],
    support_type: ["MOBILITY", "WHEELCHAIRS", "MAINTENANCE MEDICINE"],
    support_status: ["RECEIVED", "NEEDED"],
  });
  const caregiver = demoRegistrants(0).find((r) => r.externalId === "DR-TEST-002")!;
  for (const a of DR_ATTRIBUTES) assert.deepEqual(a.values(caregiver), [], a.name);
});

Deno.test("DR attributes normalise query values to the stored label, and refuse a value naming no code", () => {
  const norm = Object.fromEntries(DR_ATTRIBUTES.map((a) => [a.name, a.normalise!]));
  assert.equal(norm.disability_status("status:0"), "APPROVED");
  assert.equal(norm.disability_status("approved"), "APPROVED");
  assert.equal(
    norm.disability_level("level:1"),
    "HIGH SUPPORT NEEDS (SOMETIMES CALLED VERY SEVERE OR PROFOUND)",
  );
  assert.equal(norm.impairment_type("type:1"), "VISION");
  assert.equal(norm.impairment_level("category:4"), "EXTREME");
  assert.equal(norm.impairment_cause("case:8"), "AGEING");
  assert.equal(norm.impairment_level("Road accident"), undefined);
  assert.equal(norm.support_type("service_dog"), "SERVICE DOG");
  assert.equal(norm.support_type("tech:1"), "WHEELCHAIRS");
  assert.equal(norm.support_status("RECEIVED"), "RECEIVED");
  assert.equal(norm.disability_status("Severe"), undefined);
  assert.equal(norm.impairment_type(3), undefined);
});
