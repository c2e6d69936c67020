/** The farmer registry's details reader: normalisation, the forms import files use, and every refusal. */
import assert from "node:assert/strict";
import { frProfile } from "../../src/registries/fr/mod.ts";
import { MAX_ERRORS } from "../../src/registries/fr/read.ts";

const PERSON = frProfile.recordTypes[0];
const GROUP = frProfile.recordTypes[1];

function read(details: unknown, recordType = PERSON): { details: unknown; errors: string[] } {
  const errors: string[] = [];
  const out = frProfile.readDetails({ id: "x", details }, recordType, errors);
  return { details: out, errors };
}

Deno.test("fr readDetails() normalises labels to codes, numbers, booleans and dates", () => {
  const { details, errors } = read({
    farm_type: "Small subsistence-oriented farms",
    farms: [{
      place: {
        name: " Hill farm ",
        region: "central_region",
        city: "Riverside",
        geo: { lat: "9.5", lng: 100 },
      },
      tenure: "Leased (rented from someone else)",
      land_size: "3.25",
      measurement_unit: "acres",
      crops: [{
        activity: "perennial crops",
        crop_type: "Fruit and nuts",
        variety: "mango",
        end_use: "type:1",
        irrigated: "yes",
        irrigation_water: "Groundwater;Surface water;2",
        fertilizer_type: ["Organic fertilizers"],
        registration_date: "2023-01-10",
        last_updated: "2023-09-20T12:00:00+02:00",
      }],
      livestock: [{ animal_type: "Sheep and goats", count: "10", livestock_system: "Mixed system" }],
      mixed_farming: "1",
      aqua_culture: ["0322"],
      aqua_support_activities: "Support activities for fishing and aquaculture",
      agroforestry: "2",
      agri_support_activities: [161],
    }],
    machineries: [{ type: "Tractors, bulldozers and other vehicles", count: 1, equipment_source: 5 }],
  });
  assert.deepEqual(errors, []);
  assert.deepEqual(details, {
    farm_type: "1",
    farm_details: [{
      location: {
        name: "Hill farm",
        locality: "Riverside",
        region_code: "central_region",
        latitude: 9.5,
        longitude: 100,
      },
      land_tenure: "3",
      land_size: 3.25,
      measurment: "1",
      farming_activities: {
        crop_production: [{
          activity_group: "012",
          crop_type_name: "3",
          variety: "mango",
          end_use: "1",
          irrigation: true,
          irrigation_water: ["2", "1"],
          fertilizer_type: ["3"],
          registration_date: "2023-01-10T00:00:00.000Z",
          last_updated: "2023-09-20T10:00:00.000Z",
        }],
        animal_production: [{ type: "2", count: 10, livestock_system: "4" }],
        mixed_farming: true,
        agri_support_activities: ["161"],
        aquaculture: ["0322"],
        aqua_support_activities: "0330",
        agroforestry: ["2"],
      },
    }],
    machineries_details: [{ type: "32", count: 1, equipement_source: "5" }],
  });
});

Deno.test("fr readDetails() reads the class shape (farming_activities) as it reads the flat one", () => {
  const flat = read({ farm: { crops: "1;7", livestock: "1=3; 6 = 20", mixed_farming: true } });
  const nested = read({
    farm_details: [{
      farming_activities: {
        crop_production: [{ crop_type_name: "1" }, { crop_type_name: "7" }],
        animal_production: [{ type: "1", count: 3 }, { type: "6", count: 20 }],
        mixed_farming: true,
      },
    }],
  });
  assert.deepEqual(flat.errors, []);
  assert.deepEqual(nested.errors, []);
  assert.deepEqual(flat.details, nested.details);
  assert.deepEqual(read({ machinery: "10=4;32=1" }).details, {
    machineries_details: [{ type: "10", count: 4 }, { type: "32", count: 1 }],
  });
});

Deno.test("fr readDetails() refuses every unknown field, naming it as sent", () => {
  const { errors } = read({
    farm_typ: "1",
    farms: [{
      land_size: 1,
      colour: "green",
      location: { region_code: "r", altitude: 5, geo: { latitude: 1, height: 2 } },
      crops: [{ crop_type: "1", yield: 3 }],
      livestock: [{ type: "1", weight: 3 }],
    }],
    machineries: [{ type: "10", brand: "x" }],
  });
  assert.deepEqual(errors.sort(), [
    "details.farm_typ: unknown field",
    "details.farms[0].colour: unknown field",
    "details.farms[0].crops[0].yield: unknown field",
    "details.farms[0].livestock[0].weight: unknown field",
    "details.farms[0].location.altitude: unknown field",
    "details.farms[0].location.geo.height: unknown field",
    "details.machineries[0].brand: unknown field",
  ]);
  assert.deepEqual(read({ farming_activities: {} }).errors, ["details.farming_activities: unknown field"]);
  assert.deepEqual(read({ farm: { farming_activities: { crops: [], soil: "clay" } } }).errors, [
    "details.farm.farming_activities.soil: unknown field",
  ]);
});

Deno.test("fr readDetails() refuses codes outside the code lists, naming the list and its codes", () => {
  const { errors } = read({
    farm_type: "7",
    farm: {
      land_tenure: "Rented",
      measurment: "furlongs",
      crops: [{ crop_type: "Machine powered equipment", end_use: ["1"], irrigation_water: ["9"] }],
      livestock: "dragons=2",
    },
    machineries: [{ type: "Machine powered equipment", equipement_source: 8 }],
  });
  assert.equal(errors.length, 9, errors.join("\n"));
  assert.ok(errors.includes('details.farm_type: "7" is not a FarmTypeEnum code or label (1, 2, 3, 4, 5, 6)'));
  assert.ok(
    errors.some((e) => e.startsWith('details.farm.land_tenure: "Rented" is not a LandTenureEnum code')),
  );
  assert.ok(
    errors.some((e) => e.startsWith('details.farm.measurment: "furlongs" is not a MeasurmentUnitEnum')),
  );
  assert.ok(errors.some((e) => e.startsWith("details.farm.crops[0].crop_type: ")));
  assert.ok(errors.some((e) => e.startsWith('details.farm.crops[0].end_use: ["1"] is not a CropEnduseEnum')));
  assert.ok(errors.some((e) => e.startsWith('details.farm.crops[0].irrigation_water[0]: "9" is not')));
  assert.ok(
    errors.some((e) => e.startsWith('details.farm.livestock[0].type: "dragons" is not a AnimalsEnum')),
  );
  assert.ok(errors.some((e) => e.startsWith("details.machineries[0].type: ")));
  assert.ok(errors.some((e) => e.startsWith("details.machineries[0].equipement_source: 8 is not")));
});

Deno.test("fr readDetails() bounds every value: lengths, ranges, list sizes, dates", () => {
  const farms = Array.from({ length: 21 }, () => ({ land_size: 1 }));
  assert.deepEqual(read({ farms }).errors, ["details.farms: expected a list of at most 20 items"]);
  assert.deepEqual(read({ farms: { land_size: 1 } }).errors, [], "one farm object is the single-farm form");
  const crops = Array.from({ length: 51 }, () => ({ crop_type: "1" }));
  assert.deepEqual(read({ farm: { crops } }).errors, [
    "details.farm.crops: expected a list of at most 50 items",
  ]);
  const { errors } = read({
    farm: {
      land_size: -1,
      location: { name: "x".repeat(257), latitude: 91, longitude: "east" },
      crops: [{ variety: "v".repeat(129), season: 3, irrigation: "maybe", registration_date: "2023-02-30" }],
      livestock: [{ type: "1", count: 2.5 }, { type: "2", count: 1e10 }],
      mixed_farming: "sometimes",
    },
  });
  assert.deepEqual(errors.sort(), [
    'details.farm.crops[0].irrigation: expected true or false, not "maybe"',
    'details.farm.crops[0].registration_date: "2023-02-30" is not an ISO 8601 date or date-time',
    "details.farm.crops[0].variety: expected a string of at most 128 characters",
    "details.farm.land_size: expected a number from 0 to 100000000, not -1",
    "details.farm.livestock[0].count: expected an integer from 0 to 1000000000, not 2.5",
    "details.farm.livestock[1].count: expected an integer from 0 to 1000000000, not 10000000000",
    "details.farm.location.latitude: expected a number from -90 to 90, not 91",
    'details.farm.location.longitude: expected a number from -180 to 180, not "east"',
    "details.farm.location.name: expected a string of at most 256 characters",
    'details.farm.mixed_farming: expected true or false, not "sometimes"',
  ]);
  assert.deepEqual(read({ farm: { crops: [{ season: 3 }] } }).details, {
    farm_details: [{ farming_activities: { crop_production: [{ season: "3" }] } }],
  }, "a number is taken as text");
});

Deno.test("fr readDetails() refuses a field given twice and the two activity forms together", () => {
  assert.deepEqual(read({ farms: [], farm: {} }).errors, ["details.farm: the same field as details.farms"]);
  assert.deepEqual(
    read({ farm: { crops: "1", farming_activities: { animal_production: "1=1" } } }).errors,
    ["details.farm: give the activities either in farming_activities or beside it, not both"],
  );
  assert.deepEqual(read({ farm: { location: { latitude: 1, geo: { latitude: 1 } } } }).errors, [
    "details.farm.location: give the coordinates either in geo or beside it, not both",
  ]);
});

Deno.test("fr readDetails() caps the number of reported problems", () => {
  const many = Object.fromEntries(Array.from({ length: 500 }, (_, i) => [`unknown_${i}`, i]));
  const { errors } = read(many);
  assert.equal(errors.length, MAX_ERRORS);
  assert.equal(errors[0], "details.unknown_0: unknown field");
  const long = read({ ["k".repeat(5000)]: 1 }).errors[0];
  assert.ok(long.length < 100, "a long field name is shortened in the message");
});

Deno.test("fr readDetails() has nothing for a record without details; a group takes none", () => {
  assert.deepEqual(read(undefined), { details: undefined, errors: [] });
  assert.deepEqual(read({}), { details: undefined, errors: [] });
  assert.deepEqual(read({ farm: {} }), { details: undefined, errors: [] });
  assert.deepEqual(read("farm"), { details: undefined, errors: ["details: expected an object"] });
  assert.deepEqual(read(undefined, GROUP), { details: undefined, errors: [] });
  assert.deepEqual(read({ farm_type: "1" }, GROUP).errors, [
    "details.farm_type: unknown field (a group has no farm details)",
  ]);
});

/** Sets a dotted path in an object (as an importer does with a CSV cell). */
function setPath(o: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split(".");
  let at = o;
  for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Record<string, unknown>;
  at[parts.at(-1)!] = value;
}

Deno.test("fr import columns: a CSV row of every column reads into the details it documents", () => {
  const cells: Record<string, string> = {
    farm_type: "Small semi-subsistence or part-commercial farms",
    farm_name: "Mill farm",
    farm_region: "central_region",
    farm_locality: "Riverside",
    farm_latitude: "9.56",
    farm_longitude: "100.02",
    land_size: "5",
    land_unit: "AC",
    land_tenure: "Sharecropping",
    crops: "Cereals;7",
    livestock: "1=3|poultry=20",
    mixed_farming: "yes",
    machinery: "10=4",
  };
  assert.deepEqual(frProfile.importColumns.map((c) => c.column).sort(), Object.keys(cells).sort());
  const raw: Record<string, unknown> = { id: "x" };
  for (const c of frProfile.importColumns) setPath(raw, c.path, cells[c.column]);
  const errors: string[] = [];
  assert.deepEqual(frProfile.readDetails(raw, PERSON, errors), {
    farm_type: "2",
    farm_details: [{
      location: {
        name: "Mill farm",
        region_code: "central_region",
        locality: "Riverside",
        latitude: 9.56,
        longitude: 100.02,
      },
      land_tenure: "5",
      land_size: 5,
      measurment: "1",
      farming_activities: {
        crop_production: [{ crop_type_name: "1" }, { crop_type_name: "7" }],
        animal_production: [{ type: "1", count: 3 }, { type: "6", count: 20 }],
        mixed_farming: true,
      },
    }],
    machineries_details: [{ type: "10", count: 4 }],
  });
  assert.deepEqual(errors, []);
  for (const c of frProfile.importColumns) assert.ok(c.description.length > 5, c.column);
});
