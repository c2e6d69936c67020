/**
 * IBR records: every demo record (the fixed partner records and the synthetic ones) maps to a JSON-LD record that
 * validates against the spdci IBR classes; the demo is deterministic; attributes and event types read the details.
 */
import assert from "node:assert/strict";
import { ibrProfile } from "../../src/registries/ibr/index.ts";
import type { Registrant } from "../../src/registry/model.ts";
import { toRegistrant, typeOfStored } from "./ibr_fixture.ts";
import { checkIbr, checkProgrammeDeclaration } from "./ibr_jsonld.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

function demoRegistrants(count: number, seed: number): Registrant[] {
  return [...ibrProfile.demo(count, seed)].map(toRegistrant);
}

function mapped(reg: Registrant, all: Registrant[]): Json {
  const type = typeOfStored(reg);
  const members = type.storage === "ibr_group" ? all.filter((m) => m.groupRef === reg.externalId) : undefined;
  return ibrProfile.toRecord(reg, type, { members, withContext: true });
}

function check(record: Json): string[] {
  const cls = record["@type"] === "IBRPerson" ? "Person" : record["@type"];
  return cls === "Programme"
    ? checkProgrammeDeclaration(record, cls, { top: true })
    : checkIbr(record, cls, { top: true });
}

Deno.test("IBR demo: the partners' programme DCI001 and beneficiary IBR-TEST-001 come first, then count records", () => {
  const records = [...ibrProfile.demo(40, 3)];
  assert.equal(records.length, 42);
  assert.deepEqual(records.slice(0, 2).map((r) => r.id), ["DCI001", "IBR-TEST-001"]);
  assert.deepEqual([...ibrProfile.demo(0, 3)].map((r) => r.id), ["DCI001", "IBR-TEST-001"]);
  const a = JSON.stringify([...ibrProfile.demo(40, 3)]);
  assert.equal(JSON.stringify(records), a, "same count and seed, same records");
  assert.notEqual(JSON.stringify([...ibrProfile.demo(40, 4)]), a, "another seed, other records");
});

Deno.test("IBR demo records all read and map to records valid against the spdci IBR classes", () => {
  const regs = demoRegistrants(300, 7);
  const types = new Set<string>();
  for (const reg of regs) {
    const record = mapped(reg, regs);
    types.add(record["@type"]);
    assert.deepEqual(check(record), [], `${reg.externalId}: ${JSON.stringify(record)}`);
  }
  assert.deepEqual([...types].sort(), ["Beneficiary", "IBRPerson", "Programme"]);
  const households = regs.filter((r) => String(r.recordType) === "ibr_group").map((r) => mapped(r, regs));
  assert.ok(households.length > 10 && households.every((h) => h.assistance_unit === "Household" && h.group));
  assert.ok(households.some((h) => h.group.member_list?.length > 1), "households carry their members");
});

Deno.test("IBR toRecord: the test beneficiary is a Beneficiary enrolled in DCI001, Active, with its cash benefit", () => {
  const regs = demoRegistrants(0, 1);
  const record = mapped(regs[1], regs);
  assert.deepEqual(record.programme_identifier, [{
    "@type": "Programme",
    programme_identifier: "DCI001",
    programme_name: "Test Programme",
    enrolment_date: "2024-02-02T00:00:00Z",
    enrolment_status: "Active",
    benefit: [{
      "@type": "Benefit",
      benefit_type: "Cash",
      benefit_date: "2024-05-02T00:00:00Z",
      benefit_value: "USD 50",
    }],
  }]);
  assert.equal(record.enrollment_status, "Active");
  assert.equal(record.enrollment_date, "2024-02-02T00:00:00Z");
  assert.equal(record.assistance_unit, "Member (Person/Individual)");
  assert.deepEqual(record.member.member_identifier.map((i: Json) => i.identifier_value), [
    "BENEFICIARY-TEST-001",
    "ABC451123",
  ]);
  assert.equal(record.member.demographic_info["@type"], "IBRPerson");
  const programme = mapped(regs[0], regs);
  assert.equal(programme["@type"], "Programme");
  assert.equal(programme.programme_type, "Unconditional cash transfers (poverty targeted)");
  assert.deepEqual(check(programme), []);
});

Deno.test("the IBR validator catches what a wrong mapping would send", () => {
  const regs = demoRegistrants(0, 1);
  const good = mapped(regs[1], regs);
  const bad = {
    ...good,
    enrollment_status: "Enrolled",
    benefits: [{ "@type": "Benefit", benefit_type: "Cash" }],
    programme_identifier: good.programme_identifier[0],
    colour: "red",
  };
  delete bad.enrollment_date;
  assert.deepEqual(checkIbr(bad, "Beneficiary", { top: true }), [
    "Beneficiary: enrollment_date is required by Beneficiary",
    "Beneficiary.programme_identifier: expected a list",
    'Beneficiary.enrollment_status: "Enrolled" is not in EnrollmentStatusEnum',
    "Beneficiary.benefits[0]: benefit_date is required by Benefit",
    "Beneficiary.colour: not a property of Beneficiary",
  ]);
  assert.ok(
    checkIbr(mapped(regs[0], regs), "Programme", { top: true }).length === 2,
    "a declaration is no enrolment",
  );
});

Deno.test("IBR attributes extract programme, status, dates and benefit types; a programme has its own id", () => {
  const regs = demoRegistrants(0, 1);
  const values = (reg: Registrant) =>
    Object.fromEntries(
      ibrProfile.attributes.filter((a) => a.on.includes(String(reg.recordType))).map((
        a,
      ) => [a.name, a.values(reg)]),
    );
  assert.deepEqual(values(regs[1]), {
    programme: ["DCI001"],
    enrollment_status: ["ACTIVE"],
    enrollment_date: ["2024-02-02"],
    benefit_type: ["CASH"],
    benefit_date: ["2024-05-02"],
  });
  assert.deepEqual(values(regs[0]), { programme: ["DCI001"] });
});

Deno.test("IBR event types: enrollement on a new enrolment, enrollement_status_change on a status change", () => {
  const [enrol, statusChange] = ibrProfile.eventTypes;
  assert.equal(enrol.names[0], "enrollement");
  assert.equal(statusChange.names[0], "enrollement_status_change");
  const base = demoRegistrants(0, 1)[1];
  const details = base.details as Json;
  const suspended = {
    ...base,
    details: { enrolments: [{ ...details.enrolments[0], enrollment_status: "Suspended" }] },
  };
  const second = {
    ...base,
    details: {
      enrolments: [...details.enrolments, { ...details.enrolments[0], programme_identifier: "P2" }],
    },
  };
  const bare = { ...base, details: undefined };
  assert.equal(enrol.matches("registration", base), true);
  assert.equal(enrol.matches("registration", bare), false);
  assert.equal(enrol.matches("update", second, base), true);
  assert.equal(enrol.matches("update", suspended, base), false);
  assert.equal(enrol.matches("delete", base, base), false);
  assert.equal(statusChange.matches("update", suspended, base), true);
  assert.equal(statusChange.matches("update", second, base), false);
  assert.equal(statusChange.matches("registration", suspended), false);
});
