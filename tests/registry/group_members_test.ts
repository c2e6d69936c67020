/**
 * A group record lists at most MAX_LISTED_MEMBERS of its live members (src/registry/search_members.ts): a household
 * of any size answers a bounded record that says when its list is cut, with its head and its live member count.
 */
import assert from "node:assert/strict";
import { FIXTURE_NOW, ids, searchOne } from "./fixture.ts";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { jsonLdValidator } from "../helpers/jsonld.ts";
import { MAX_LISTED_MEMBERS } from "../../src/registry/store.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const MEMBERS = 150;

const check = jsonLdValidator({
  classes: {
    Person: ["core/v1/data/Person.jsonld"],
    Group: ["core/v1/data/Group.jsonld", "extensions/social/v1/data/Group.jsonld"],
    Member: ["core/v1/data/Member.jsonld"],
    Name: ["core/v1/data/Name.jsonld"],
    Identifier: ["core/v1/data/Identifier.jsonld"],
    RelatedPerson: ["core/v1/data/RelatedPerson.jsonld"],
  },
  codes: { SexCategoryEnum: { file: "core/v1/code/SexCategoryEnum.jsonld", form: "either" } },
  aliases: { RelatePerson: "RelatedPerson", SRPerson: "Person" },
  freeCodes: ["IdentifierTypeEnum", "RelationshipTypeEnum", "AssistanceUnitEnum"],
});

/** A household BIG of MEMBERS members whose head (SELF) registered last, M3 deleted; a household SMALL of two. */
async function households(): Promise<TestDeps> {
  const deps = await testDeps({}, { now: FIXTURE_NOW });
  const now = () => new Date(deps.clock.now()).toISOString();
  const group = (id: string, value: string) => ({
    id,
    record_type: "group",
    group_identifier: [{ identifier_type: "HOUSEHOLD_ID", identifier_value: value }],
    group_type: "household",
  });
  const person = (id: string, groupId: string, relationship: string) => ({
    id,
    identifier: [{ identifier_type: "UIN", identifier_value: `U-${id}` }],
    name: { given_name: "Member", surname: id },
    group_id: groupId,
    relationship,
  });
  const raws = [
    group("BIG", "H-BIG"),
    group("SMALL", "H-SMALL"),
    person("S1", "SMALL", "SELF"),
    person("S2", "SMALL", "SON"),
    ...Array.from({ length: MEMBERS }, (_, i) => person(`M${i}`, "BIG", i === MEMBERS - 1 ? "SELF" : "SON")),
  ];
  const report = await deps.storage.registryLoad.writeAll(raws.map((raw, i) => ({ line: i + 1, raw })), {
    now,
  });
  if (report.rejectedCount) throw new Error(JSON.stringify(report.rejected));
  await deps.storage.registry.delete("M3", { now: now() });
  return deps;
}

const lookup = (value: string) => ({
  query_type: "idtype-value",
  reg_record_type: "Group",
  query: { type: "HOUSEHOLD_ID", value },
});

/** The members an answer's group record lists (@ids), and the group record. */
function groupOf(answer: { data?: { reg_records: Json[] } }): { group: Json; members: string[] } {
  const group = answer.data!.reg_records[0];
  return { group, members: (group.member_list ?? []).map((m: Json) => m["@id"]) };
}

Deno.test("search: a group lists its first live members up to the cap, its head, and says the list is cut", async () => {
  const deps = await households();
  try {
    const answer = await searchOne(deps, lookup("H-BIG"));
    assert.equal(answer.status, "succ");
    assert.deepEqual(ids(answer), ["BIG"]);
    const { group, members } = groupOf(answer);
    assert.equal(members.length, MAX_LISTED_MEMBERS);
    // The first live ones by registration (M3 is deleted), the head taking the last place.
    const first = Array.from({ length: MAX_LISTED_MEMBERS }, (_, i) => `M${i}`).filter((m) => m !== "M3");
    assert.deepEqual(members, [...first.slice(0, MAX_LISTED_MEMBERS - 1), `M${MEMBERS - 1}`]);
    assert.equal(group.group_head_info?.["@id"], `M${MEMBERS - 1}`);
    assert.equal(group.group_size, MEMBERS - 1, "no stored group_size: the live members counted");
    assert.deepEqual(group.additional_attributes, [
      { member_list_truncated: true },
      { member_list_total: MEMBERS - 1 },
    ]);
    assert.deepEqual(check.validate(group, "Group", { top: true }), []);

    // A search of groups (not a lookup) lists them alike.
    const searched = await searchOne(deps, {
      query_type: "predicate",
      reg_record_type: "Group",
      query: [{
        expression1: { attribute_name: "group_type", operator: "eq", attribute_value: "household" },
      }],
    });
    assert.deepEqual(ids(searched), ["BIG", "SMALL"]);
    assert.deepEqual(groupOf(searched).members, members);
    assert.deepEqual(groupOf({ data: { reg_records: [searched.data!.reg_records[1]] } }).members, [
      "S1",
      "S2",
    ]);
  } finally {
    deps.close();
  }
});

Deno.test("search: a group with no more members than the cap lists them all, unmarked", async () => {
  const deps = await households();
  try {
    const { group, members } = groupOf(await searchOne(deps, lookup("H-SMALL")));
    assert.deepEqual(members, ["S1", "S2"]);
    assert.equal(group.group_size, 2);
    assert.equal(group.additional_attributes, undefined);
    assert.equal(group.group_head_info?.["@id"], "S1");
  } finally {
    deps.close();
  }
});

Deno.test("registry store: members() lists at most the cap, with the head and the live count", async () => {
  const deps = await households();
  try {
    const big = await deps.storage.registry.get("BIG");
    const listed = await deps.storage.registry.members(big!.id);
    assert.equal(listed.members.length, MAX_LISTED_MEMBERS);
    assert.deepEqual(listed.members.slice(0, 4).map((m) => m.externalId), ["M0", "M1", "M2", "M4"]);
    assert.equal(listed.members.at(-1)!.externalId, `M${MEMBERS - 1}`, "the head takes the last place");
    assert.equal(listed.total, MEMBERS - 1);
  } finally {
    deps.close();
  }
});

Deno.test("the admin view of a group says when its member list is cut, and counts its members", async () => {
  const deps = await households();
  try {
    const admin = await deps.storage.adminTokens.create({ role: "admin", name: "ops" });
    const app = createApp(deps);
    const view = async (id: string) => {
      const res = await app.request(`/admin/v1/registries/social/registrants/${id}`, {
        headers: { authorization: `Bearer ${admin.token}` },
      });
      assert.equal(res.status, 200);
      return (await res.json()).record as Json;
    };
    const big = await view("BIG");
    assert.equal(big.member_list.length, MAX_LISTED_MEMBERS);
    assert.equal(big.group_size, MEMBERS - 1, "the live count, not the list's length");
    assert.deepEqual(big.additional_attributes, [
      { member_list_truncated: true },
      { member_list_total: MEMBERS - 1 },
    ]);
    const small = await view("SMALL");
    assert.equal(small.member_list.length, 2);
    assert.equal(small.additional_attributes, undefined);
  } finally {
    deps.close();
  }
});
