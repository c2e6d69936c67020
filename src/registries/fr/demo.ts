/**
 * A deterministic synthetic farmer registry: the partners' fixed test farmer (FARMER_ID `FARMER-TEST-001`, with
 * a household, a farm, crops, livestock and machinery) first, then farmers with one or two farms each, some in a
 * household with a spouse. Places are the social demo's region and locality codes, so they resolve in the
 * locations API. Same `count` and `seed` → same records.
 */
import { DEMO_PLACES, prng } from "../social/seed.ts";
import type { Json } from "../profile.ts";

/** The partners' fixed test farmer's FARMER_ID. */
export const TEST_FARMER_ID = "FARMER-TEST-001";

const GIVEN_MALE = [
  "Abdou",
  "Bongani",
  "Carlos",
  "Dawit",
  "Enrique",
  "Festus",
  "Gideon",
  "Hamid",
  "Isaac",
  "Juan",
];
const GIVEN_FEMALE = [
  "Adwoa",
  "Bisi",
  "Carmen",
  "Dina",
  "Efua",
  "Folake",
  "Gloria",
  "Halima",
  "Ines",
  "Jamila",
];
const SURNAMES = [
  "Acheampong",
  "Boateng",
  "Chirwa",
  "Dlamini",
  "Eze",
  "Flores",
  "Gebre",
  "Huaman",
  "Ito",
  "Jere",
];
const VARIETIES: Record<string, string[]> = {
  "1": ["local maize", "hybrid maize", "sorghum", "rice"],
  "2": ["tomato", "cabbage", "onion"],
  "3": ["mango", "banana", "cashew"],
  "4": ["groundnut", "sunflower", "soybean"],
  "5": ["cassava", "sweet potato", "yam"],
  "6": ["coffee", "tea", "ginger"],
  "7": ["beans", "cowpea", "lentils"],
  "8": ["sugar cane"],
  "9": ["cotton", "tobacco"],
};
const SEASONS = ["long rains", "short rains", "dry season", "all year"];
const REGIONS = Object.keys(DEMO_PLACES);
const DAY = 86_400_000;

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** The fixed test farmer and its household (the group first: a member names its group). */
function testRecords(): Json[] {
  const address = {
    address_line_1: "12 Mill Road",
    locality: "Riverside",
    region_code: "central_region",
    postal_code: "1012",
    country_code: "ZZ",
  };
  const registered = "2021-03-15T08:00:00.000Z";
  return [{
    id: "FRH-TEST-001",
    record_type: "Group",
    group_identifier: [{ identifier_type: "HOUSEHOLD_ID", identifier_value: "FRH-TEST-001" }],
    group_type: "household",
    group_size: 2,
    address,
    registration_date: registered,
  }, {
    id: "FR-TEST-001",
    record_type: "Farmer",
    identifier: [
      { identifier_type: "FARMER_ID", identifier_value: TEST_FARMER_ID },
      { identifier_type: "UIN", identifier_value: "FR-UIN-TEST-001" },
    ],
    name: { given_name: "Amani", surname: "Banda" },
    sex: "male",
    birth_date: "1978-04-12",
    address,
    phone_number: ["+99 700000001"],
    group_id: "FRH-TEST-001",
    relationship: "SELF",
    registration_date: registered,
    details: {
      farm_type: "2",
      farm_details: [{
        location: {
          name: "Banda family farm",
          locality: "Riverside",
          region_code: "central_region",
          latitude: 9.5604,
          longitude: 100.0245,
        },
        land_tenure: "1",
        land_size: 2.5,
        measurment: "0",
        farming_activities: {
          crop_production: [
            {
              activity_group: "011",
              crop_type_name: "1",
              variety: "local maize",
              season: "long rains",
              end_use: "1",
              irrigation: true,
              irrigation_water: ["3"],
              fertilizer_type: ["5"],
            },
            {
              activity_group: "011",
              crop_type_name: "7",
              variety: "beans",
              season: "short rains",
              end_use: "1",
            },
          ],
          animal_production: [
            { type: "1", count: 3, livestock_system: "4" },
            { type: "6", count: 20, livestock_system: "4" },
          ],
          mixed_farming: true,
        },
        registration_date: registered,
      }],
      machineries_details: [{ type: "10", count: 4, equipement_source: "1" }, {
        type: "32",
        count: 1,
        equipement_source: "5",
      }],
    },
  }, {
    id: "FR-TEST-002",
    record_type: "Farmer",
    identifier: [{ identifier_type: "UIN", identifier_value: "FR-UIN-TEST-002" }],
    name: { given_name: "Grace", surname: "Banda" },
    sex: "female",
    birth_date: "1982-09-30",
    address,
    group_id: "FRH-TEST-001",
    relationship: "PRIMSPOUS",
    registration_date: registered,
  }];
}

/** Demo input records: the fixed test ones, then `count` synthetic persons (farmers and spouses) from `seed`. */
export function* frDemo(count: number, seed: number): Generator<Json> {
  yield* testRecords();
  const rnd = prng(seed);
  const pick = <T>(list: readonly T[]) => list[Math.floor(rnd() * list.length)];
  let person = 0;
  let household = 0;
  while (person < count) {
    const index = ++person;
    const region = pick(REGIONS);
    const locality = pick(DEMO_PLACES[region]);
    const surname = pick(SURNAMES);
    const address = { locality, region_code: region, country_code: "ZZ" };
    const registered = new Date(Date.UTC(2016, 0, 1) + Math.floor(rnd() * 3000) * DAY).toISOString();
    const withSpouse = person < count && rnd() < 0.3;
    const groupId = withSpouse ? `DFH${seed}-${pad(++household, 7)}` : undefined;
    if (groupId) {
      yield {
        id: groupId,
        record_type: "Group",
        group_identifier: [{ identifier_type: "HOUSEHOLD_ID", identifier_value: groupId }],
        group_type: "household",
        group_size: 2,
        address,
        registration_date: registered,
      };
    }
    const sex = rnd() < 0.6 ? "male" : "female";
    const born = new Date(Date.UTC(1950, 0, 1) + Math.floor(rnd() * 18000) * DAY).toISOString().slice(0, 10);
    yield {
      id: `DF${seed}-${pad(index, 8)}`,
      record_type: "Farmer",
      identifier: [
        { identifier_type: "FARMER_ID", identifier_value: `FARMER-${seed}-${pad(index, 8)}` },
        { identifier_type: "UIN", identifier_value: `FRU${seed}-${pad(index, 8)}` },
      ],
      name: { given_name: pick(sex === "male" ? GIVEN_MALE : GIVEN_FEMALE), surname },
      sex,
      birth_date: born,
      address,
      group_id: groupId,
      relationship: groupId ? "SELF" : undefined,
      registration_date: registered,
      details: farmerDetails(rnd, pick, region, locality),
    };
    if (groupId) {
      const spouse = ++person;
      yield {
        id: `DF${seed}-${pad(spouse, 8)}`,
        record_type: "Farmer",
        identifier: [{ identifier_type: "UIN", identifier_value: `FRU${seed}-${pad(spouse, 8)}` }],
        name: { given_name: pick(sex === "male" ? GIVEN_FEMALE : GIVEN_MALE), surname },
        sex: sex === "male" ? "female" : "male",
        address,
        group_id: groupId,
        relationship: "PRIMSPOUS",
        registration_date: registered,
      };
    }
  }
}

function farmerDetails(
  rnd: () => number,
  pick: <T>(list: readonly T[]) => T,
  region: string,
  locality: string,
): Json {
  const farms = Array.from({ length: rnd() < 0.8 ? 1 : 2 }, (_, i) => {
    const cropTypes = [
      ...new Set(Array.from({ length: Math.floor(rnd() * 4) }, () => pick(Object.keys(VARIETIES)))),
    ];
    const animals = [
      ...new Set(Array.from({ length: Math.floor(rnd() * 3) }, () => pick(["1", "2", "3", "6"]))),
    ];
    const loc = i === 0 ? locality : pick(DEMO_PLACES[region]);
    return {
      location: { locality: loc, region_code: region },
      land_tenure: pick(["1", "1", "1", "3", "5", "6"]),
      land_size: Math.round((0.2 + rnd() * rnd() * 30) * 100) / 100,
      measurment: rnd() < 0.85 ? "0" : "1",
      farming_activities: {
        crop_production: cropTypes.map((t) => ({
          activity_group: t === "3" || t === "6" ? "012" : "011",
          crop_type_name: t,
          variety: pick(VARIETIES[t]),
          season: pick(SEASONS),
          end_use: rnd() < 0.8 ? "1" : "2",
          irrigation: rnd() < 0.2,
        })),
        animal_production: animals.map((t) => ({
          type: t,
          count: 1 + Math.floor(rnd() * (t === "6" ? 200 : 15)),
          livestock_system: pick(["3", "4"]),
        })),
        mixed_farming: cropTypes.length > 0 && animals.length > 0,
      },
    };
  });
  const machinery = rnd() < 0.5
    ? [{ type: pick(["10", "20", "32"]), count: 1, equipement_source: pick(["1", "5"]) }]
    : [];
  return {
    farm_type: pick(["1", "1", "2", "2", "3", "5"]),
    farm_details: farms,
    machineries_details: machinery,
  };
}
