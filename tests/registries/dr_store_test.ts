/**
 * The DR registry over the real store (SQLite, the generic machinery): the demo imported through the input
 * reader, searched by identifier and by DR attributes, answered by the DR endpoints, changes recorded as DR
 * events; a record with a field the DR does not know is refused naming it, with nothing written.
 */
import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { drProfile } from "../../src/registries/dr/profile.ts";
import { socialRegistry } from "../../src/registries/index.ts";
import { drActions } from "../../src/registries/dr/actions/endpoints.ts";
import { storeFinder } from "../../src/registries/dr/actions/lookup.ts";
import { DR_TEST_CAREGIVER_UIN, DR_TEST_UIN } from "../../src/registries/dr/demo.ts";
import { readRegistrant } from "../../src/registry/model.ts";
import { validateDr } from "./dr_validator.ts";
import { specErrors } from "../helpers/spec_validator.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const SAMPLES = "../../../shared/dci-spec/spdci-standards/release/sample-jsons/example_files/";

async function drDeps(count = 60): Promise<TestDeps> {
  const deps = await testDeps();
  const now = () => new Date(deps.clock.now()).toISOString();
  const report = await deps.storage.registryLoad.writeAll(
    [...drProfile.demo(count, 1)].map((raw) => ({ line: 0, raw })),
    {
      now,
      profile: drProfile,
    },
  );
  assert.equal(report.rejectedCount, 0, JSON.stringify(report.rejected));
  return deps;
}

async function search(deps: TestDeps, criteria: Record<string, unknown>): Promise<Json> {
  const outcome = await deps.storage.search.message(deps, {
    registry: "dr",
    header: { version: "1.0.0", action: "search" },
    message: {
      transaction_id: "t-1",
      search_request: [{
        reference_id: "r-1",
        timestamp: new Date().toISOString(),
        search_criteria: criteria,
      }],
    },
  });
  assert.deepEqual(specErrors("dr", "/components/schemas/SearchResponse", outcome.message), []);
  return outcome.message.search_response[0];
}

Deno.test("DR search answers the demo's test person by UIN as a valid PWDPerson record", async () => {
  const deps = await drDeps();
  try {
    const item = await search(deps, {
      reg_type: "ns:org:RegistryType:DR",
      query_type: "idtype-value",
      query: { type: "UIN", value: DR_TEST_UIN },
    });
    assert.equal(item.status, "succ", JSON.stringify(item));
    assert.equal(item.data.reg_type, "ns:org:RegistryType:DR");
    assert.equal(item.data.reg_record_type, "PWDPerson");
    assert.equal(item.data.reg_records.length, 1);
    const [record] = item.data.reg_records;
    assert.deepEqual(validateDr(record, "PWDPerson"), []);
    assert.equal(record["@id"], "DR-TEST-001");
    assert.equal(record.disability_status, "Approved");
  } finally {
    deps.close();
  }
});

Deno.test({
  name: "DR search filters by disability status, level, impairment type and support type",
}, async () => {
  const deps = await drDeps(200);
  try {
    const approvedMobility = await search(deps, {
      query_type: "predicate",
      query: [{
        expression1: { attribute_name: "disability_status", operator: "eq", attribute_value: "approved" },
        condition: "and",
        expression2: { attribute_name: "impairment_type", operator: "eq", attribute_value: "Mobility" },
      }],
      pagination: { page_size: 1000 },
    });
    const records = approvedMobility.data.reg_records as Json[];
    assert.ok(records.length > 5, `${records.length} approved with a mobility impairment`);
    for (const r of records) {
      assert.equal(r.disability_status, "Approved");
      assert.ok(r.disability_details.some((d: Json) => d.impairment_type === "Mobility"));
    }
    const wheelchairs = await search(deps, {
      query_type: "expression",
      query: { support_type: { $eq: "wheelchairs" }, disability_level: { $in: ["Severe", "Mild"] } },
      pagination: { page_size: 1000 },
    });
    assert.ok(wheelchairs.data.reg_records.length > 0);
    for (const r of wheelchairs.data.reg_records as Json[]) {
      assert.ok(["Severe", "Mild"].includes(r.disability_status_level));
      assert.ok(r.disability_support[0].assistive_technology.some((a: Json) => a.type === "Wheelchairs"));
    }
    const byCode = await search(deps, {
      query_type: "expression",
      query: { disability_status: { $eq: "status:0" }, impairment_type: { $eq: "type:3" } },
      pagination: { page_size: 1000 },
    });
    assert.equal(byCode.data.reg_records.length, records.length, "a code id finds what its label finds");
    const bogus = await search(deps, {
      query_type: "expression",
      query: { disability_status: { $eq: "Castle" } },
    });
    assert.equal(bogus.status, "rjct");
    assert.equal(bogus.status_reason_code, "rjct.filter.invalid");
    const groups = await search(deps, {
      reg_record_type: "Group",
      query_type: "predicate",
      query: [{
        expression1: { attribute_name: "region", operator: "eq", attribute_value: "central_region" },
      }],
    });
    assert.equal(groups.data.reg_record_type, "Group");
    const [household] = groups.data.reg_records;
    assert.deepEqual(validateDr(household, "Group"), []);
    assert.equal(household.member_list.length, 2);
  } finally {
    deps.close();
  }
});

Deno.test("DR search filters by impairment level and cause, by label, code id and record path", async () => {
  const deps = await drDeps(200);
  try {
    // The persons whose impairments name `field` = `label`, from the demo records themselves.
    const now = new Date().toISOString();
    const demo = [...drProfile.demo(200, 1)].map((raw) => readRegistrant(raw, now, undefined, drProfile));
    const expected = (field: string, label: string) =>
      demo.filter((r) => ((r.details?.disability_details ?? []) as Json[]).some((d) => d[field] === label))
        .map((r) => r.externalId).sort();
    const ids = (item: Json) => {
      assert.equal(item.status, "succ", JSON.stringify(item));
      return (item.data.reg_records as Json[]).map((r) => r["@id"]).sort();
    };
    const severe = expected("impairment_level", "Severe");
    assert.ok(severe.length > 5 && severe.length < 150, `${severe.length} with a severe impairment`);
    for (const value of ["Severe", "severe", "category:3"]) {
      const item = await search(deps, {
        query_type: "expression",
        query: { impairment_level: { $eq: value } },
        pagination: { page_size: 1000 },
      });
      assert.deepEqual(ids(item), severe, value);
    }
    const byPath = await search(deps, {
      query_type: "predicate",
      query: [{
        expression1: {
          attribute_name: "disability_details.impairment_cause",
          operator: "eq",
          attribute_value: "Road accident",
        },
      }],
      pagination: { page_size: 1000 },
    });
    const road = expected("impairment_cause", "Road accident");
    assert.ok(road.length > 0);
    assert.deepEqual(ids(byPath), road);
    const bogus = await search(deps, {
      query_type: "expression",
      query: { impairment_level: { $eq: "Huge" } },
    });
    assert.equal(bogus.status_reason_code, "rjct.filter.invalid");
  } finally {
    deps.close();
  }
});

Deno.test("DR search takes dr_api's sample search criteria as sent: record paths in its filter and sort, identifier paths", async () => {
  const deps = await drDeps(200);
  try {
    const sample = JSON.parse(
      await Deno.readTextFile(new URL(`${SAMPLES}dr/processflow3req.json`, import.meta.url)),
    );
    const criteria = sample.message.search_request[0].search_criteria;
    const item = await search(deps, criteria);
    assert.equal(item.status, "succ", JSON.stringify(item));
    const records = item.data.reg_records as Json[];
    assert.ok(records.length > 1, `${records.length} records`);
    const born = (r: Json) => String(r.personal_details.demographic_info.birth_date);
    const births = records.map(born);
    assert.deepEqual(births, [...births].sort(), "sorted by demographic_info.birth_date");
    for (const r of records) {
      assert.equal(r.disability_status, "Approved");
      assert.ok(born(r) > "1950-08-18", born(r));
    }
    const byPath = await search(deps, {
      query_type: "expression",
      query: {
        "disability_details.impairment_type": { $eq: "Mobility" },
        disability_status: { $eq: "Approved" },
      },
      pagination: { page_size: 1000 },
    });
    assert.equal(byPath.status, "succ", JSON.stringify(byPath));
    assert.ok(byPath.data.reg_records.length > 5);
    // A core attribute read on its own (age, a name, a phone) under a person's record path too.
    const adults = (name: string) =>
      search(deps, {
        query_type: "expression",
        query: { [name]: { $gte: 18 } },
        pagination: { page_size: 1000 },
      });
    const plain = (await adults("age")).data.reg_records.length;
    assert.ok(plain > 0);
    for (const name of ["member.demographic_info.age", "personal_details.AGE"]) {
      assert.equal((await adults(name)).data?.reg_records.length, plain, name);
    }
    for (
      const name of ["member.member_identifier", "personal_details.member_identifier", "member_identifier"]
    ) {
      const byId = await search(deps, {
        query_type: "expression",
        query: { [name]: { $eq: DR_TEST_UIN } },
      });
      assert.deepEqual(byId.data?.reg_records.map((r: Json) => r["@id"]), ["DR-TEST-001"], name);
    }
  } finally {
    deps.close();
  }
});

Deno.test("the DR endpoints answer from the store: yes for the test person, no for her caregiver", async () => {
  const deps = await drDeps();
  try {
    const [disabled, details, support] = drActions(storeFinder);
    const input = (uin: string, action = disabled) => ({
      registry: "dr",
      senderId: "sp",
      header: {},
      message: action.request.parse({
        transaction_id: "t-2",
        disabled_criteria: { query_type: "idtype-value", query: { type: "UIN", value: uin } },
      }) as Json,
      correlationId: "c-2",
      now: deps.clock.now(),
    });
    const yes = await disabled.handle(deps, input(DR_TEST_UIN));
    assert.equal((yes.message as Json).disabled_response[0].disabled_status, "yes");
    const no = await disabled.handle(deps, input(DR_TEST_CAREGIVER_UIN));
    assert.equal((no.message as Json).disabled_response[0].disabled_status, "no");
    const info = await details.handle(deps, input(DR_TEST_UIN, details));
    assert.deepEqual(specErrors("dr", "/components/schemas/GetDisabilityInfoResponse", info.message), []);
    assert.equal(
      (info.message as Json).search_response[0].data.reg_records[0].disability_status_level,
      "Severe",
    );
    const help = await support.handle(deps, input(DR_TEST_UIN, support));
    assert.deepEqual(specErrors("dr", "/components/schemas/GetDisabilitySupportResponse", help.message), []);
    assert.equal((help.message as Json).search_response[0].data.reg_records[0].length, 1);
  } finally {
    deps.close();
  }
});

Deno.test("storeFinder() finds live DR persons only: not social's holder of the same UIN, not a deleted one", async () => {
  const deps = await drDeps(5);
  try {
    const now = () => new Date(deps.clock.now()).toISOString();
    await deps.storage.registryLoad.writeAll([{
      line: 0,
      raw: { id: "S-1", identifier: [{ identifier_type: "UIN", identifier_value: DR_TEST_UIN }] },
    }], { now, profile: socialRegistry() });
    const found = await storeFinder(deps, { type: "UIN", value: DR_TEST_UIN }, 5);
    assert.deepEqual(found.map((r) => r.externalId), ["DR-TEST-001"]);
    assert.deepEqual((await storeFinder(deps, { value: "PWD-TEST-001" }, 5)).map((r) => r.externalId), [
      "DR-TEST-001",
    ]);
    assert.deepEqual(await storeFinder(deps, { type: "NID", value: DR_TEST_UIN }, 5), []);
    assert.ok(await deps.storage.registry.delete("DR-TEST-002", { now: now(), registry: "dr" }));
    assert.deepEqual(await storeFinder(deps, { type: "UIN", value: DR_TEST_CAREGIVER_UIN }, 5), []);
  } finally {
    deps.close();
  }
});

Deno.test("a DR record with a field the DR does not know is refused naming it, and nothing is written", async () => {
  const deps = await drDeps(0);
  try {
    const count = async () => Number((await deps.sql("SELECT COUNT(*) AS n FROM registrants"))[0].n);
    const before = await count();
    const now = () => new Date(deps.clock.now()).toISOString();
    const report = await deps.storage.registryLoad.writeAll([
      {
        line: 1,
        raw: {
          id: "DR-X-1",
          identifier: [{ identifier_type: "UIN", identifier_value: "X-1" }],
          details: {
            disability_status: "Approved",
            disability_details: [{ impairment_type: "Vision", colour: "x" }],
          },
        },
      },
      { line: 2, raw: { id: "DR-X-2", favourite_food: "rice" } },
    ], { now, profile: drProfile });
    assert.equal(report.rejectedCount, 2);
    const reasons = report.rejected.map((r) => r.reason).join("\n");
    assert.match(reasons, /details\.disability_details\[0\]\.colour: unknown field/);
    assert.match(reasons, /favourite_food: unknown field/);
    assert.equal(await count(), before);
    assert.throws(
      () => readRegistrant({ id: "y", details: { housing_type: "Castle" } }, now(), undefined, drProfile),
      /details\.housing_type: "Castle" is not a HousingType code/,
    );
  } finally {
    deps.close();
  }
});
