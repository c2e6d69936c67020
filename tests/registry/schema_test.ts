/** DCI records checked against the spdci JSON-LD class definitions (a small structural validator). */
import assert from "node:assert/strict";
import { fixtureDeps, searchOne } from "./fixture.ts";
import { testDeps } from "../helpers/deps.ts";
import { demoRecords } from "../../src/registries/social/seed.ts";
import { jsonLdValidator } from "../helpers/jsonld.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const check = jsonLdValidator({
  classes: {
    Person: ["core/v1/data/Person.jsonld"],
    Group: ["core/v1/data/Group.jsonld", "extensions/social/v1/data/Group.jsonld"],
    Member: ["core/v1/data/Member.jsonld"],
    Name: ["core/v1/data/Name.jsonld"],
    Address: ["core/v1/data/Address.jsonld"],
    Identifier: ["core/v1/data/Identifier.jsonld"],
    RelatedPerson: ["core/v1/data/RelatedPerson.jsonld"],
  },
  codes: { SexCategoryEnum: { file: "core/v1/code/SexCategoryEnum.jsonld", form: "either" } },
  // Core Member.related_person's range is spelt `RelatePerson`; SRPerson is the social Person.
  aliases: { RelatePerson: "RelatedPerson", SRPerson: "Person" },
  // The social registry sends its own codes for these (group_type "household", relationship codes).
  freeCodes: ["IdentifierTypeEnum", "RelationshipTypeEnum", "AssistanceUnitEnum"],
});

/** Errors of `record` against class `cls` (unknown properties are errors; @-keys allowed). */
export function validate(record: Json, cls: string): string[] {
  return check.validate(record, cls);
}

Deno.test("search records are valid spdci SRPerson and Group records", async () => {
  const deps = await fixtureDeps();
  try {
    const persons = await searchOne(deps, {
      query_type: "predicate",
      query: [{
        expression1: { attribute_name: "birth_date", operator: "ge", attribute_value: "1900-01-01" },
      }],
    });
    assert.equal(persons.data?.reg_records.length, 7);
    for (const r of persons.data!.reg_records) assert.deepEqual(validate(r, "Person"), []);
    const groups = await searchOne(deps, {
      query_type: "predicate",
      reg_record_type: "Group",
      query: [{ expression1: { attribute_name: "group_size", operator: "ge", attribute_value: 1 } }],
    });
    assert.equal(groups.data?.reg_records.length, 2);
    for (const g of groups.data!.reg_records) assert.deepEqual(validate(g, "Group"), []);
    assert.ok(
      validate({ sex: "M", name: { first_name: "x" } }, "Person").length >= 2,
      "the validator catches errors",
    );
  } finally {
    deps.close();
  }
});

Deno.test("demo registry records are valid spdci records; the seeder is deterministic", async () => {
  const a = [...demoRecords(60, 7)].map((r) => JSON.stringify(r.raw));
  assert.deepEqual([...demoRecords(60, 7)].map((r) => JSON.stringify(r.raw)), a);
  assert.notDeepEqual([...demoRecords(60, 8)].map((r) => JSON.stringify(r.raw)), a);
  const deps = await testDeps();
  try {
    const report = await deps.storage.registryLoad.writeAll(demoRecords(60, 7), {
      now: () => new Date(deps.clock.now()).toISOString(),
    });
    assert.equal(report.rejectedCount, 0);
    const persons = Number(
      (await deps.sql("SELECT COUNT(*) AS n FROM registrants WHERE record_type = 'person'"))[0].n,
    );
    assert.equal(persons, 60);
    const groups = await searchOne(deps, {
      query_type: "predicate",
      reg_record_type: "Group",
      query: [{ expression1: { attribute_name: "group_size", operator: "ge", attribute_value: 1 } }],
      pagination: { page_size: 100 },
    });
    for (const g of groups.data!.reg_records) assert.deepEqual(validate(g, "Group"), []);
    const members = groups.data!.reg_records.reduce((n: number, g: Json) => n + g.member_list.length, 0);
    assert.equal(members, 60);
  } finally {
    deps.close();
  }
});
