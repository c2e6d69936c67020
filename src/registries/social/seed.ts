/**
 * A deterministic synthetic social registry: households (groups) with a head, often a spouse, children and
 * sometimes an elder; identifiers, birth dates and places. Same `persons` and `seed` → same records.
 */
import type { SourceRecord } from "../../registry/batch.ts";

const MALE = [
  "Amani",
  "Baraka",
  "Daniel",
  "Emmanuel",
  "Farid",
  "Gabriel",
  "Hassan",
  "Ibrahim",
  "Jabari",
  "Kofi",
  "Luis",
  "Mateo",
  "Nikhil",
  "Omar",
  "Pedro",
  "Rafael",
  "Samuel",
  "Tomas",
  "Yusuf",
  "Zane",
];
const FEMALE = [
  "Aisha",
  "Beatriz",
  "Chloe",
  "Daniela",
  "Esther",
  "Fatima",
  "Grace",
  "Hana",
  "Imani",
  "Joy",
  "Keza",
  "Lucia",
  "Maya",
  "Nia",
  "Olivia",
  "Priya",
  "Rosa",
  "Sofia",
  "Wanjiru",
  "Zara",
];
const SURNAMES = [
  "Abebe",
  "Banda",
  "Costa",
  "Diallo",
  "Estrada",
  "Fernandes",
  "Garcia",
  "Haile",
  "Juma",
  "Kamau",
  "Lopez",
  "Mensah",
  "Njoroge",
  "Okafor",
  "Perera",
  "Quispe",
  "Reyes",
  "Santos",
  "Tembo",
  "Wanjiku",
];
/** Regions and their localities (fictional country ZZ). */
export const DEMO_PLACES: Record<string, string[]> = {
  central_region: ["Riverside", "Hillcrest", "Market Town", "Old Mill"],
  northern_region: ["Northgate", "Pine Valley", "Stonebridge", "Lakeview"],
  eastern_region: ["Sunrise", "East Harbour", "Palm Grove", "Coral Bay"],
  western_region: ["Westfield", "Red Rock", "Sandy Plains", "Cedar Falls"],
  southern_region: ["Southport", "Green Meadow", "Twin Rivers", "Maple Hill"],
};
const REGIONS = Object.keys(DEMO_PLACES);
/** The reference day ages are computed from, so the data does not depend on when it is generated. */
const REFERENCE_DAY = Date.UTC(2026, 0, 1);
const DAY = 86_400_000;

/** A small fast deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, "0");
}

/** A distinct 10-digit UIN per person index (an odd multiplier is a bijection modulo 2^32). */
function uin(index: number, seed: number): string {
  return pad((Math.imul(index + 1, 0x9e3779b1) + Math.imul(seed, 0x85ebca6b)) >>> 0, 10);
}

/** Input records (household, then its members) for `persons` people. */
export function* demoRecords(persons: number, seed = 1): Generator<SourceRecord> {
  const rnd = prng(seed);
  const pick = <T>(list: T[]) => list[Math.floor(rnd() * list.length)];
  let person = 0;
  let household = 0;
  while (person < persons) {
    household++;
    const hhId = `DH${seed}-${pad(household, 7)}`;
    const region = pick(REGIONS);
    const locality = pick(DEMO_PLACES[region]);
    const surname = pick(SURNAMES);
    const size = Math.min(persons - person, 1 + Math.floor(rnd() * rnd() * 7));
    const address = {
      address_line_1: `${1 + Math.floor(rnd() * 400)} ${pick(["Main", "Church", "Station", "Market"])} Road`,
      locality,
      region_code: region,
      postal_code: `${REGIONS.indexOf(region) + 1}${pad(Math.floor(rnd() * 1000), 3)}`,
      country_code: "ZZ",
    };
    const registered = new Date(Date.UTC(2015, 0, 1) + Math.floor(rnd() * 3650) * DAY).toISOString();
    yield {
      line: 0,
      raw: {
        id: hhId,
        record_type: "group",
        group_identifier: [{
          identifier_type: "HOUSEHOLD_ID",
          identifier_value: `HH${seed}-${pad(household, 7)}`,
        }],
        group_type: "household",
        group_size: size,
        poverty_score: Math.round(rnd() * 100) / 10,
        poverty_score_type: "PMT",
        address,
        registration_date: registered,
      },
    };
    const headAge = 20 + Math.floor(rnd() * 60);
    for (let m = 0; m < size; m++) {
      const relationship = m === 0 ? "SELF" : m === 1 && rnd() < 0.8 ? "PRIMSPOUS" : "CHILD";
      const sex = rnd() < 0.5 ? "male" : "female";
      const age = relationship === "CHILD"
        ? Math.floor(rnd() * Math.max(1, headAge - 18))
        : relationship === "PRIMSPOUS"
        ? Math.max(18, headAge - 5 + Math.floor(rnd() * 10))
        : headAge;
      const birth = new Date(REFERENCE_DAY - (age * 365.25 + rnd() * 365) * DAY).toISOString().slice(0, 10);
      const given = pick(sex === "male" ? MALE : FEMALE);
      const index = person++;
      const identifier = [{
        identifier_type: "UIN",
        identifier_value: seed === 1 && index === 0 ? "TEST-001" : uin(index, seed),
      }];
      if (age < 18) {
        identifier.push({
          identifier_type: "BRN",
          identifier_value: `BRN-${birth.slice(0, 4)}-${pad(index, 8)}`,
        });
      }
      yield {
        line: 0,
        raw: {
          id: `DP${seed}-${pad(index + 1, 8)}`,
          identifier,
          name: { given_name: given, surname },
          sex,
          birth_date: birth,
          address,
          phone_number: age >= 16 ? [`+99 7${pad(Math.floor(rnd() * 1e8), 8)}`] : [],
          email: age >= 18 && rnd() < 0.3 ? [`${given}.${surname}.${index}@example.org`.toLowerCase()] : [],
          group_id: hhId,
          relationship: relationship === "CHILD" ? (sex === "male" ? "SON" : "DAU") : relationship,
          registration_date: registered,
          attributes: {
            disability: rnd() < 0.05,
            school_enrolled: age >= 6 && age < 18 ? rnd() < 0.85 : undefined,
          },
        },
      };
    }
  }
}
