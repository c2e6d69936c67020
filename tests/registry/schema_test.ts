/** DCI records checked against the spdci JSON-LD class definitions (a small structural validator). */
import assert from "node:assert/strict";
import { fixtureDeps, searchOne } from "./fixture.ts";
import { testDeps } from "../helpers/deps.ts";
import { writeAll } from "../../src/registry/batch.ts";
import { demoRecords } from "../../src/registries/social/seed.ts";

const ROOT = new URL("../../../shared/dci-spec/spdci-schemas/", import.meta.url);
// deno-lint-ignore no-explicit-any
type Json = any;

function load(path: string): Json {
  return JSON.parse(Deno.readTextFileSync(new URL(path, ROOT)));
}

/** class name → property name → range (as written in the JSON-LD). */
function classProps(path: string): Map<string, Json> {
  const doc = load(path);
  return new Map(
    (doc["rdfs:property"] as Json[]).map((p) => [String(p["@id"]).split(":").pop()!, p["rdfs:range"]]),
  );
}

const CLASSES: Record<string, Map<string, Json>> = {
  Person: classProps("core/v1/data/Person.jsonld"),
  Group: new Map([
    ...classProps("core/v1/data/Group.jsonld"),
    ...classProps("extensions/social/v1/data/Group.jsonld"),
  ]),
  Member: classProps("core/v1/data/Member.jsonld"),
  Name: classProps("core/v1/data/Name.jsonld"),
  Address: classProps("core/v1/data/Address.jsonld"),
  Identifier: classProps("core/v1/data/Identifier.jsonld"),
  RelatedPerson: classProps("core/v1/data/RelatedPerson.jsonld"),
};
const SEX = (load("core/v1/code/SexCategoryEnum.jsonld")["@graph"][0]["owl:oneOf"] as string[]).map((s) =>
  s.split(":")[1]
);
const DATE_TIME = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/;

function check(value: Json, range: Json, path: string, errors: string[]): void {
  const id = typeof range === "string" ? range : range?.["@id"];
  const list = typeof range === "object" && range?.["@container"] === "@list";
  if (list) {
    if (!Array.isArray(value)) return void errors.push(`${path}: expected a list`);
    value.forEach((v, i) => check(v, { ...range, "@container": undefined }, `${path}[${i}]`, errors));
    return;
  }
  let name = String(id ?? range?.["@type"] ?? "").split(":").pop()!;
  if (name === "RelatePerson") name = "RelatedPerson"; // a typo in core Member.jsonld
  if (name === "string" || name === "decimal" || name === "integer" || name === "boolean") {
    const t = typeof value;
    const ok = name === "string" ? t === "string" : name === "boolean" ? t === "boolean" : t === "number";
    if (!ok) errors.push(`${path}: expected ${name}`);
    if (name === "integer" && !Number.isInteger(value)) errors.push(`${path}: expected an integer`);
  } else if (name === "DateTime") {
    if (typeof value !== "string" || !DATE_TIME.test(value)) {
      errors.push(`${path}: expected an ISO 8601 date-time with zone`);
    }
  } else if (name === "SexCategoryEnum") {
    if (!SEX.includes(value)) errors.push(`${path}: ${value} is not in SexCategoryEnum`);
  } else if (
    name === "IdentifierTypeEnum" || name === "RelationshipTypeEnum" || name === "AssistanceUnitEnum"
  ) {
    if (typeof value !== "string") errors.push(`${path}: expected a code`);
  } else if (name === "Person" || name === "SRPerson") validate(value, "Person", path, errors);
  else if (CLASSES[name]) validate(value, name, path, errors);
  else if (range?.["@type"] === "@id") {
    if (typeof value !== "object") errors.push(`${path}: expected an object`);
  } else errors.push(`${path}: no rule for range ${JSON.stringify(range)}`);
}

/** Errors of `record` against class `cls` (unknown properties are errors; @-keys allowed). */
export function validate(record: Json, cls: string, path = cls, errors: string[] = []): string[] {
  if (typeof record !== "object" || record === null || Array.isArray(record)) {
    errors.push(`${path}: expected an object`);
    return errors;
  }
  const props = CLASSES[cls];
  for (const [k, v] of Object.entries(record)) {
    if (k.startsWith("@")) continue;
    if (!props.has(k)) {
      errors.push(`${path}.${k}: not a property of ${cls}`);
      continue;
    }
    check(v, props.get(k), `${path}.${k}`, errors);
  }
  return errors;
}

Deno.test("search records are valid spdci SRPerson and Group records", async () => {
  const deps = await fixtureDeps();
  try {
    const persons = searchOne(deps, {
      query_type: "predicate",
      query: [{
        expression1: { attribute_name: "birth_date", operator: "ge", attribute_value: "1900-01-01" },
      }],
    });
    assert.equal(persons.data?.reg_records.length, 7);
    for (const r of persons.data!.reg_records) assert.deepEqual(validate(r, "Person"), []);
    const groups = searchOne(deps, {
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
    const report = await writeAll(deps.db, demoRecords(60, 7), {
      now: () => new Date(deps.clock.now()).toISOString(),
    });
    assert.equal(report.rejectedCount, 0);
    const persons = Number(
      (deps.db.prepare("SELECT COUNT(*) AS n FROM registrants WHERE record_type = 'person'").get() as Json).n,
    );
    assert.equal(persons, 60);
    const groups = searchOne(deps, {
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
