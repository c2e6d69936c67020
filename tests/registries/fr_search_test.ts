/**
 * The farmer registry through the registry machinery (real SQLite): the demo written by the batch writer, DCI
 * searches on the fr registry by identifier and by every farmer attribute, records valid FR records, and an
 * input record with a field the registry does not know refused naming it, nothing written.
 */
import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { frProfile } from "../../src/registries/fr/mod.ts";
import { TEST_FARMER_ID } from "../../src/registries/fr/demo.ts";
import { frValidator } from "./fr_jsonld.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function frDeps(count = 200): Promise<TestDeps> {
  const deps = await testDeps({ maxPageSize: "1000" }, { now: Date.parse("2026-01-01T12:00:00Z") });
  const now = () => new Date(deps.clock.now()).toISOString();
  const records = [...frProfile.demo(count, 5)].map((raw, i) => ({ line: i + 1, raw }));
  const report = await deps.storage.registryLoad.writeAll(records, { now, profile: frProfile });
  if (report.rejectedCount) throw new Error(JSON.stringify(report.rejected));
  return deps;
}

/** One fr search item's answer. */
async function search(deps: TestDeps, criteria: Json): Promise<Json> {
  const out = await deps.storage.search.message(deps, {
    registry: "fr",
    header: { version: "1.0.0", action: "search", total_count: 1 },
    message: {
      transaction_id: "t",
      search_request: [{ reference_id: "r1", timestamp: "2026-01-01T00:00:00Z", search_criteria: criteria }],
    },
  });
  return out.message.search_response[0];
}

function predicate(attribute: string, operator: string, value: unknown, extra: Json = {}): Json {
  return {
    query_type: "predicate",
    query: [{ expression1: { attribute_name: attribute, operator, attribute_value: value } }],
    pagination: { page_size: 1000 },
    ...extra,
  };
}

/** Every record of an answer, checked against the FR classes; their farmer details. */
function farmers(answer: Json): Json[] {
  assert.equal(answer.status, "succ", JSON.stringify(answer));
  for (const r of answer.data.reg_records) assert.deepEqual(frValidator.validate(r, "Farmer"), [], r["@id"]);
  return answer.data.reg_records;
}

const crops = (f: Json) =>
  (f.farm_details ?? []).flatMap((d: Json) => d.farming_activities?.crop_production ?? []).map((c: Json) =>
    c.crop_type_name
  );

Deno.test("fr search: the test farmer by FARMER_ID and by UIN, as a Farmer record of reg_type FR", async () => {
  const deps = await frDeps(20);
  try {
    const byId = await search(deps, {
      query_type: "idtype-value",
      query: { type: "FARMER_ID", value: TEST_FARMER_ID },
    });
    const [farmer] = farmers(byId);
    assert.equal(byId.data.reg_type, "ns:org:RegistryType:FR");
    assert.equal(byId.data.reg_record_type, "Farmer");
    assert.equal(byId.data.reg_records.length, 1);
    assert.equal(farmer["@id"], "FR-TEST-001");
    assert.deepEqual(crops(farmer), ["1", "7"]);
    const byUin = await search(deps, {
      reg_type: "ns:org:RegistryType:FR",
      reg_record_type: "spdci-extensions-dci:Farmer",
      query_type: "idtype-value",
      query: { type: "urn:dci:id:uin", value: "FR-UIN-TEST-001" },
    });
    assert.deepEqual(farmers(byUin).map((r) => r["@id"]), ["FR-TEST-001"]);
    const asPredicate = await search(deps, predicate("FARMER_ID", "eq", TEST_FARMER_ID));
    assert.deepEqual(farmers(asPredicate).map((r) => r["@id"]), ["FR-TEST-001"]);
  } finally {
    deps.close();
  }
});

Deno.test("fr search: every farmer attribute selects exactly the farmers whose records have it", async () => {
  const deps = await frDeps();
  try {
    const all = farmers(await search(deps, predicate("sex", "in", ["male", "female"])));
    assert.equal(all.length, 202, "every person of the registry, the two fixed ones and 200 synthetic");
    const cereals = farmers(await search(deps, predicate("crop_type", "eq", "1")));
    assert.ok(cereals.length > 10);
    assert.ok(cereals.every((f) => crops(f).includes("1")));
    assert.equal(cereals.length, all.filter((f) => crops(f).includes("1")).length);
    const byLabel = farmers(await search(deps, predicate("crop_type", "eq", "Cereals")));
    assert.deepEqual(byLabel.map((f) => f["@id"]), cereals.map((f) => f["@id"]), "a label is its code");
    assert.equal(
      (await search(deps, predicate("crop_type", "eq", "wheat"))).status_reason_code,
      "rjct.filter.invalid",
    );
    const tenures = farmers(await search(deps, predicate("land_tenure", "in", ["3", "Sharecropping"])));
    assert.ok(tenures.length > 0);
    assert.ok(tenures.every((f) => f.farm_details.some((d: Json) => ["3", "5"].includes(d.land_tenure))));
    const small = farmers(
      await search(deps, {
        query_type: "predicate",
        query: [{
          expression1: { attribute_name: "land_size", operator: "ge", attribute_value: 1 },
          condition: "and",
          expression2: { attribute_name: "land_size", operator: "le", attribute_value: 2 },
        }],
        pagination: { page_size: 1000 },
      }),
    );
    assert.ok(small.length > 0);
    for (const f of small) {
      const ha = f.farm_details.reduce(
        (s: number, d: Json) => s + d.land_size * (d.measurment === "1" ? 0.40468564224 : 1),
        0,
      );
      assert.ok(ha >= 1 - 1e-6 && ha <= 2 + 1e-6, `${f["@id"]}: ${ha} ha`);
    }
    const poultry = farmers(await search(deps, predicate("animal_type", "eq", "6")));
    assert.ok(poultry.length > 0);
    assert.ok(
      poultry.every((f) =>
        f.farm_details.some((d: Json) =>
          d.farming_activities?.animal_production?.some((a: Json) => a.type === "6")
        )
      ),
    );
    const north = farmers(await search(deps, predicate("farm_region", "eq", "northern_region")));
    assert.ok(north.length > 0);
    assert.ok(
      north.every((f) =>
        f.farm_details.some((d: Json) =>
          d.location.contained_in_place.contained_in_place["@id"] === "northern_region"
        )
      ),
    );
    const core = farmers(await search(deps, predicate("region", "eq", "northern_region")));
    assert.deepEqual(
      core.filter((f) => f.farm_details).map((f) => f["@id"]).sort(),
      north.map((f) => f["@id"]).sort(),
      "the demo's farms lie in their farmer's region (spouses have no farm)",
    );
    const farmType = farmers(await search(deps, predicate("farm_type", "eq", "5")));
    assert.ok(farmType.length > 0 && farmType.every((f) => f.farm_type === "5"));
    const tractors = farmers(await search(deps, predicate("machinery_type", "eq", "32")));
    assert.ok(tractors.every((f) => f.machineries_details.some((m: Json) => m.type === "32")));
  } finally {
    deps.close();
  }
});

Deno.test("fr search: a farm locality written decomposed (NFD) is found by either form, as text is compared in NFC", async () => {
  const deps = await testDeps({}, { now: Date.parse("2026-01-01T12:00:00Z") });
  try {
    const now = () => new Date(deps.clock.now()).toISOString();
    const { group_id: _, relationship: __, ...farmer } = [...frProfile.demo(0, 1)][1] as Json;
    farmer.details.farm_details[0].location.locality = "Bogota\u0301";
    const report = await deps.storage.registryLoad.writeAll([{ line: 1, raw: farmer }], {
      now,
      profile: frProfile,
    });
    assert.equal(report.rejectedCount, 0, JSON.stringify(report.rejected));
    for (const form of ["Bogot\u00e1", "Bogota\u0301"]) {
      const found = farmers(await search(deps, predicate("farm_locality", "eq", form)));
      assert.deepEqual(found.map((f) => f["@id"]), [farmer.id], JSON.stringify(form));
    }
  } finally {
    deps.close();
  }
});

Deno.test("fr search: groups with their FR members; refused attributes and record types", async () => {
  const deps = await frDeps(40);
  try {
    const groups = await search(deps, { ...predicate("group_size", "ge", 1), reg_record_type: "Group" });
    assert.equal(groups.status, "succ", JSON.stringify(groups));
    assert.equal(groups.data.reg_record_type, "Group");
    assert.ok(groups.data.reg_records.length > 3);
    for (const g of groups.data.reg_records) assert.deepEqual(frValidator.validate(g, "Group"), [], g["@id"]);
    const test = groups.data.reg_records.find((g: Json) => g["@id"] === "FRH-TEST-001");
    assert.deepEqual(test.member_list.map((m: Json) => m["@id"]), ["FR-TEST-001", "FR-TEST-002"]);
    const onGroup = await search(deps, { ...predicate("crop_type", "eq", "1"), reg_record_type: "Group" });
    assert.equal(onGroup.status_reason_code, "rjct.filter.invalid");
    const unknown = await search(deps, predicate("soil_type", "eq", "clay"));
    assert.equal(unknown.status_reason_code, "rjct.filter.invalid");
    const badType = await search(deps, { ...predicate("crop_type", "eq", "1"), reg_record_type: "Vehicle" });
    assert.equal(badType.status, "rjct");
  } finally {
    deps.close();
  }
});

Deno.test("fr import: a record with a field the farmer registry does not know is refused naming it; nothing written", async () => {
  const deps = await testDeps();
  try {
    const now = () => new Date(deps.clock.now()).toISOString();
    const good = [...frProfile.demo(0, 1)][1] as Json;
    const bad = structuredClone(good);
    bad.id = "FR-BAD";
    bad.identifier = [{ identifier_type: "FARMER_ID", identifier_value: "FARMER-BAD" }];
    bad.details.farm_details[0].farming_activities.crop_production[0].yield_tonnes = 3;
    const topLevel = { ...structuredClone(good), id: "FR-BAD-2", identifier: [], soil: "clay" };
    const report = await deps.storage.registryLoad.writeAll([{ line: 1, raw: bad }, {
      line: 2,
      raw: topLevel,
    }], {
      now,
      profile: frProfile,
    });
    assert.equal(report.rejectedCount, 2);
    assert.match(
      report.rejected[0].reason,
      /details\.farm_details\[0\]\.farming_activities\.crop_production\[0\]\.yield_tonnes: unknown field/,
    );
    assert.match(report.rejected[1].reason, /soil: unknown field/);
    const [rows] = await deps.sql("SELECT COUNT(*) AS n FROM registrants");
    assert.equal(Number(rows.n), 0);
    const [values] = await deps.sql("SELECT COUNT(*) AS n FROM registrant_values");
    assert.equal(Number(values.n), 0);
  } finally {
    deps.close();
  }
});
