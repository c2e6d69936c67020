/** Farmer registry records (profile.toRecord) validated against the spdci FR classes; demo and attributes. */
import assert from "node:assert/strict";
import { frProfile } from "../../src/registries/fr/mod.ts";
import { TEST_FARMER_ID } from "../../src/registries/fr/demo.ts";
import type { Registrant } from "../../src/registry/model.ts";

// deno-lint-ignore no-explicit-any
type Json = any;
import { frValidator, readFrRecord, recordTypeOf } from "./fr_jsonld.ts";

const [PERSON, GROUP] = frProfile.recordTypes;

function attribute(reg: Registrant, name: string): Array<string | number> {
  return frProfile.attributes.find((a) => a.name === name)!.values(reg);
}

/** Demo records read, and each group's members (head first as stored). */
function demo(count: number, seed: number): { regs: Registrant[]; members: Map<string, Registrant[]> } {
  const regs = [...frProfile.demo(count, seed)].map((r) => readFrRecord(r));
  const members = new Map<string, Registrant[]>();
  for (const r of regs) if (r.groupRef) members.set(r.groupRef, [...members.get(r.groupRef) ?? [], r]);
  return { regs, members };
}

function toRecord(reg: Registrant, members?: Registrant[]): Json {
  const def = reg.recordType === GROUP.storage ? GROUP : PERSON;
  return frProfile.toRecord(reg, def, { withContext: true, members });
}

Deno.test("fr demo: the test farmer FARMER-TEST-001 comes first, with a farm, crops, livestock and machinery", () => {
  const { regs, members } = demo(0, 1);
  assert.deepEqual(regs.map((r) => r.externalId), ["FRH-TEST-001", "FR-TEST-001", "FR-TEST-002"]);
  const farmer = regs[1];
  assert.deepEqual(farmer.identifiers[0], { type: "FARMER_ID", value: TEST_FARMER_ID });
  const record = toRecord(farmer);
  assert.deepEqual(frValidator.validate(record, "Farmer"), []);
  assert.equal(record["@type"], "Farmer");
  assert.equal(record.farmer_personal_details.demographic_info["@type"], "FRPerson");
  assert.deepEqual(record.farmer_personal_details.member_identifier[0], {
    "@type": "Identifier",
    identifier_type: "FARMER_ID",
    identifier_value: TEST_FARMER_ID,
  });
  const farm = record.farm_details[0];
  assert.equal(farm["@type"], "FarmInfo");
  assert.equal(farm.land_size, 2.5);
  assert.deepEqual(farm.location.contained_in_place, {
    "@type": "Place",
    name: "Riverside",
    contained_in_place: { "@type": "Place", "@id": "central_region" },
  });
  assert.deepEqual(farm.farming_activities.crop_production.map((c: Json) => c.crop_type_name), ["1", "7"]);
  assert.deepEqual(farm.farming_activities.animal_production.map((a: Json) => [a.type, a.count]), [
    ["1", 3],
    ["6", 20],
  ]);
  assert.equal(record.machineries_details[1].equipement_source, "5");
  assert.deepEqual(record.family_details, { "@type": "Group", "@id": "FRH-TEST-001" });
  const group = toRecord(regs[0], members.get("FRH-TEST-001"));
  assert.deepEqual(frValidator.validate(group, "Group"), []);
  assert.equal(group.group_head_info["@id"], "FR-TEST-001");
  assert.equal(group.member_list[1].related_person[0].relationship_type, "PRIMSPOUS");
});

Deno.test("fr demo records are all valid spdci FR records; the generator is deterministic", () => {
  const a = [...frProfile.demo(300, 7)].map((r) => JSON.stringify(r));
  assert.deepEqual([...frProfile.demo(300, 7)].map((r) => JSON.stringify(r)), a);
  assert.notDeepEqual([...frProfile.demo(300, 8)].map((r) => JSON.stringify(r)), a);
  const { regs, members } = demo(300, 7);
  const persons = regs.filter((r) => r.recordType === PERSON.storage);
  assert.equal(persons.length, 300 + 2, "300 synthetic persons after the two fixed ones");
  const kinds = { crops: 0, livestock: 0, groups: 0 };
  for (const reg of regs) {
    const record = toRecord(reg, members.get(reg.externalId));
    const cls = reg.recordType === GROUP.storage ? "Group" : "Farmer";
    assert.deepEqual(frValidator.validate(record, cls), [], reg.externalId);
    if (cls === "Group") kinds.groups++;
    if (attribute(reg, "crop_type").length) kinds.crops++;
    if (attribute(reg, "livestock_type").length) kinds.livestock++;
  }
  assert.ok(kinds.crops > 100 && kinds.livestock > 100 && kinds.groups > 20, JSON.stringify(kinds));
  const ids = persons.flatMap((r) => r.identifiers.map((i) => `${i.type}:${i.value}`));
  assert.equal(new Set(ids).size, ids.length, "identifiers are distinct");
});

Deno.test("fr records of imported farmers validate, every optional part present", () => {
  const reg = readFrRecord({
    id: "F-1",
    identifier: [{ identifier_type: "FARMER_ID", identifier_value: "F-1" }],
    name: { given_name: "Ines", surname: "Flores" },
    sex: "female",
    birth_date: "1990-02-03",
    death_date: "2025-01-01",
    address: { locality: "Northgate", region_code: "northern_region" },
    phone_number: ["+99 1"],
    email: ["ines@example.org"],
    attributes: { cooperative: "North Growers" },
    details: {
      farm_type: "5",
      farm_details: [{
        location: { name: "North field", address_line: "Km 4", latitude: -1.5, longitude: 36.8 },
        land_tenure: "7",
        land_size: 40,
        measurment: "6",
        farming_activities: {
          crop_production: [{
            activity_group: "013",
            crop_type_name: "9",
            variety: "cotton",
            season: "dry season",
            end_use: "3",
            irrigation: true,
            irrigation_water: ["7", "8"],
            fertilizer_type: ["1", "4"],
            registration_date: "2024-01-01",
            last_updated: "2024-06-01T10:00:00Z",
          }],
          animal_production: [{ type: "8", count: 1000, livestock_system: "5", last_updated: "2024-06-01" }],
          mixed_farming: true,
          agri_support_activities: ["163", "164"],
          aquaculture: ["0321"],
          aqua_support_activities: "0330",
          agroforestry: ["4"],
          registration_date: "2024-01-01",
        },
        registration_date: "2024-01-01",
        last_updated: "2024-01-02",
      }],
      machineries_details: [{
        type: "37",
        count: 2,
        equipement_source: "7",
        registration_date: "2024-01-01",
      }],
    },
  });
  const record = toRecord(reg);
  assert.deepEqual(frValidator.validate(record, "Farmer"), []);
  assert.equal(record.farm_details[0].location.geo.latitude, -1.5);
  assert.equal(record.farm_details[0].location.contained_in_place, undefined);
  assert.deepEqual(record.farmer_personal_details.additional_attributes, [{ cooperative: "North Growers" }]);
  assert.equal(record["@context"]["@vocab"], "https://schema.spdci.org/extensions/fr/v1/data");
  assert.equal(frProfile.toRecord(reg, PERSON, { withContext: false })["@context"], undefined);
  assert.deepEqual(attribute(reg, "land_size"), [4], "40 dunams are 4 hectares");
  assert.deepEqual(attribute(reg, "land_tenure"), ["7"]);
  assert.deepEqual(attribute(reg, "machinery_type"), ["37"]);
  assert.deepEqual(attribute(reg, "livestock_count"), [1000]);
  assert.deepEqual(attribute(reg, "farm_latitude"), [-1.5]);
  assert.deepEqual(attribute(reg, "farm_region"), []);
});

Deno.test("the fr validator catches records that break the classes", () => {
  const reg = readFrRecord([...frProfile.demo(0, 1)][1]);
  const good = toRecord(reg);
  const bad = structuredClone(good);
  bad.farm_type = "Large commercial farms";
  bad.farm_details[0].land_size = "2.5";
  bad.farm_details[0].farming_activities.crop_production[0].crop_type = "1";
  bad.farm_details[0].farming_activities.animal_production[0].count = 2.5;
  bad.machineries_details[0].equipement_source = "9";
  bad.farmer_personal_details.demographic_info.sex = "M";
  bad.registration_date = "2021-03-15";
  assert.deepEqual(frValidator.validate(bad, "Farmer").sort(), [
    "Farmer.farm_details[0].farming_activities.animal_production[0].count: expected xsd:Integer, not 2.5",
    "Farmer.farm_details[0].farming_activities.crop_production[0].crop_type: not a property of CropDetails",
    'Farmer.farm_details[0].land_size: expected xsd:Decimal, not "2.5"',
    'Farmer.farm_type: "Large commercial farms" is not in FarmTypeEnum',
    'Farmer.farmer_personal_details.demographic_info.sex: "M" is not in SexCategoryEnum',
    'Farmer.machineries_details[0].equipement_source: "9" is not in EquipmentSource',
    "Farmer.registration_date: expected an ISO 8601 date-time with zone",
  ]);
});

Deno.test("fr attributes extract every searchable value of a farmer, and nothing from a group", () => {
  const { regs } = demo(0, 1);
  const [group, farmer, spouse] = regs;
  const values = Object.fromEntries(frProfile.attributes.map((a) => [a.name, a.values(farmer)]));
  assert.deepEqual(values, {
    farm_type: ["2"],
    land_size: [2.5],
    land_tenure: ["1"],
    crop_type: ["1", "7"],
    livestock_type: ["1", "6"],
    livestock_count: [23],
    machinery_type: ["10", "32"],
    farm_region: ["central_region"],
    farm_locality: ["Riverside"],
    farm_latitude: [9.5604],
    farm_longitude: [100.0245],
  });
  for (const a of frProfile.attributes) {
    assert.deepEqual(a.values(group), [], a.name);
    assert.deepEqual(a.values(spouse), [], a.name);
    assert.deepEqual(a.on, [PERSON.storage]);
  }
  assert.equal(recordTypeOf({ record_type: "FRPerson" }), PERSON);
  assert.equal(recordTypeOf({ record_type: "household" }), GROUP);
});

Deno.test("fr demo places are the social demo's region and locality codes", async () => {
  const { DEMO_PLACES } = await import("../../src/registries/social/seed.ts");
  for (const raw of frProfile.demo(200, 3)) {
    const reg = readFrRecord(raw);
    for (const a of reg.addresses) {
      assert.ok(DEMO_PLACES[a.region_code!]?.includes(a.locality!), reg.externalId);
    }
    const farms = attribute(reg, "farm_region").map(String);
    for (const region of farms) assert.ok(Object.hasOwn(DEMO_PLACES, region));
    for (const l of attribute(reg, "farm_locality")) {
      assert.ok(farms.some((r) => DEMO_PLACES[r].includes(String(l))), `${reg.externalId} ${l}`);
    }
  }
});

Deno.test("fr code-valued attributes normalise query values (labels, prefixed codes) to the stored codes", () => {
  const norm = (name: string, v: unknown) => frProfile.attributes.find((a) => a.name === name)!.normalise!(v);
  assert.equal(norm("crop_type", "Cereals"), "1");
  assert.equal(norm("crop_type", 7), "7");
  assert.equal(norm("livestock_type", "ns:org:AnimalsEnum:6"), "6");
  assert.equal(norm("land_tenure", "sharecropping"), "5");
  assert.equal(norm("farm_type", "Commercial estates"), "6");
  assert.equal(norm("machinery_type", "Tractors, bulldozers and other vehicles"), "32");
  assert.equal(norm("crop_type", "wheat"), undefined, "not a code: the query is refused");
  const withHook = frProfile.attributes.filter((a) => a.normalise).map((a) => a.name);
  assert.deepEqual(withHook, ["farm_type", "land_tenure", "crop_type", "livestock_type", "machinery_type"]);
});
