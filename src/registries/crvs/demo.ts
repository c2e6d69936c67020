/**
 * The civil registry's demo records (input shape, as `registry import` reads them): first the records partners
 * test with (a birth with BRN `BIRTH-TEST-001` and both its parents, a death with DRN `DEATH-TEST-001`), then
 * deterministic synthetic families: two married parents, their children's births, sometimes a divorce, an
 * adoption, a death or a fetal death. Places are the social demo's region codes and locality names, so they resolve in
 * `/.well-known/locations.json`. Same `count` and `seed` → same records.
 */
import { DEMO_PLACES, prng } from "../social/seed.ts";

type Json = Record<string, unknown>;

const DAY = 86_400_000;
/** Dates are drawn before this day, so the data does not depend on when it is generated. */
const REFERENCE_DAY = Date.UTC(2026, 0, 1);
const REGIONS = Object.keys(DEMO_PLACES);
const FEMALE = ["Aisha", "Beatriz", "Esther", "Grace", "Imani", "Lucia", "Maya", "Nia", "Rosa", "Zara"];
const MALE = ["Amani", "Baraka", "Daniel", "Hassan", "Kofi", "Luis", "Omar", "Pedro", "Samuel", "Yusuf"];
const SURNAMES = [
  "Abebe",
  "Banda",
  "Costa",
  "Diallo",
  "Haile",
  "Kamau",
  "Mensah",
  "Okafor",
  "Perera",
  "Tembo",
];

function address(locality: string, region: string): Json {
  return { locality, region_code: region, country_code: "ZZ" };
}

/** The partners' fixed test records: two parents, their child's birth (BRN BIRTH-TEST-001), a death. */
export function crvsTestRecords(): Json[] {
  const home = address("Riverside", "central_region");
  const hospital = {
    name: "Riverside District Hospital",
    locality: "Riverside",
    region_code: "central_region",
  };
  const registered = "2025-03-20T09:00:00.000Z";
  const parent = (n: 1 | 2, given: string, sex: string, birth: string, locality: string) => ({
    id: `CRVS-TEST-PARENT-${n}`,
    identifier: [{ identifier_type: "UIN", identifier_value: `PARENT-TEST-00${n}` }],
    name: { given_name: given, surname: "Okafor" },
    sex,
    birth_date: birth,
    address: home,
    registration_date: registered,
    details: {
      birth_place: { locality, region_code: "central_region" },
      marriage_date: ["2019-06-01"],
      marital_status: "M",
    },
  });
  return [
    parent(1, "Amara", "female", "1994-04-12", "Riverside"),
    parent(2, "Kofi", "male", "1991-09-30", "Hillcrest"),
    {
      id: "CRVS-TEST-BIRTH",
      identifier: [{ identifier_type: "BRN", identifier_value: "BIRTH-TEST-001" }],
      name: { given_name: "Nia", surname: "Okafor" },
      sex: "female",
      birth_date: "2025-03-14",
      address: home,
      registration_date: registered,
      details: {
        birth_place: hospital,
        parent1_identifier: { identifier_type: "UIN", identifier_value: "PARENT-TEST-001" },
        parent2_identifier: { identifier_type: "UIN", identifier_value: "PARENT-TEST-002" },
      },
    },
    {
      id: "CRVS-TEST-DEATH",
      identifier: [
        { identifier_type: "DRN", identifier_value: "DEATH-TEST-001" },
        { identifier_type: "UIN", identifier_value: "DECEASED-TEST-001" },
      ],
      name: { given_name: "Samuel", surname: "Banda" },
      sex: "male",
      birth_date: "1941-02-03",
      death_date: "2025-11-02",
      address: address("Northgate", "northern_region"),
      registration_date: "2025-11-04T10:30:00.000Z",
      details: {
        death_place: {
          name: "Northgate Health Centre",
          locality: "Northgate",
          region_code: "northern_region",
        },
        marital_status: "W",
      },
    },
  ];
}

/** The fixed test records, then `count` synthetic ones from `seed`. */
export function* crvsDemo(count: number, seed: number): Generator<Json> {
  yield* crvsTestRecords();
  const gen = new FamilyGenerator(seed);
  let left = count;
  while (left > 0) {
    for (const r of gen.family().slice(0, left)) {
      left--;
      yield r;
    }
  }
}

/** Draws families from a seeded PRNG; each record gets the next number of the seed's sequence. */
class FamilyGenerator {
  #rnd: () => number;
  #made = 0;

  constructor(readonly seed: number) {
    this.#rnd = prng(seed);
  }

  #pick<T>(list: readonly T[]): T {
    return list[Math.floor(this.#rnd() * list.length)];
  }

  #place(): Json {
    const region_code = this.#pick(REGIONS);
    const locality = this.#pick(DEMO_PLACES[region_code]);
    const name = this.#pick([`${locality} District Hospital`, `${locality} Health Centre`, undefined]);
    return name ? { name, locality, region_code } : { locality, region_code };
  }

  #next(): string {
    return `${this.seed}-${String(++this.#made).padStart(8, "0")}`;
  }

  #person(adult: boolean, sex: string, surname: string, birth: number, home: Json, details: Json): Json {
    const n = this.#next();
    return {
      id: `CRVS${n}`,
      identifier: [{ identifier_type: adult ? "UIN" : "BRN", identifier_value: `${adult ? "U" : "B"}${n}` }],
      name: { given_name: this.#pick(sex === "male" ? MALE : FEMALE), surname },
      sex,
      birth_date: day(birth),
      address: home,
      registration_date: new Date(Math.min(birth + Math.floor(this.#rnd() * 60) * DAY, REFERENCE_DAY))
        .toISOString(),
      details: { birth_place: this.#place(), ...details },
    };
  }

  /** Two parents married (sometimes divorced), 0 to 3 children, sometimes a fetal death or a parent's death. */
  family(): Json[] {
    const rnd = this.#rnd;
    const surname = this.#pick(SURNAMES);
    const home = this.#place();
    const homeAddress = address(String(home.locality), String(home.region_code));
    const wed = REFERENCE_DAY - Math.floor(1 + rnd() * 40 * 365) * DAY;
    const divorced = wed + Math.floor(1 + rnd() * 3000) * DAY;
    const status = rnd() < 0.15 && divorced < REFERENCE_DAY ? "D" : "M";
    const marriage = {
      marriage_date: [day(wed)],
      ...(status === "D" ? { divorce_date: [day(divorced)] } : {}),
    };
    let latest = status === "D" ? divorced : wed;
    const spouse = (sex: string) =>
      this.#person(true, sex, surname, wed - Math.floor((18 + rnd() * 20) * 365) * DAY, homeAddress, {
        ...marriage,
        marital_status: status,
      });
    const [p1, p2] = [spouse("female"), spouse("male")];
    const parents = { parent1_identifier: uin(p1), parent2_identifier: uin(p2) };
    const out = [p1, p2];
    for (let c = Math.floor(rnd() * 4); c > 0; c--) {
      const born = wed + Math.floor(300 + rnd() * 5000) * DAY;
      if (born >= REFERENCE_DAY) continue;
      latest = Math.max(latest, born);
      const child = this.#person(false, rnd() < 0.5 ? "male" : "female", surname, born, homeAddress, parents);
      if (rnd() < 0.05) {
        (child.details as Json).vital_events = [{ type: "adoption", date: day(born + 400 * DAY) }];
        latest = Math.max(latest, born + 400 * DAY);
      }
      out.push(child);
    }
    if (rnd() < 0.05) {
      const date = wed + Math.floor(300 + rnd() * 3000) * DAY;
      latest = Math.max(latest, date);
      out.push(this.#fetalDeath(surname, day(date), homeAddress, parents));
    }
    const died = Math.max(latest + DAY, REFERENCE_DAY - Math.floor(rnd() * 3650) * DAY);
    if (rnd() < 0.3 && died < REFERENCE_DAY) {
      // A parent died: a death date and place, a death registration number, a widowed spouse.
      const [dead, widowed] = rnd() < 0.5 ? [p1, p2] : [p2, p1];
      dead.death_date = day(died);
      (dead.identifier as Json[]).push({ identifier_type: "DRN", identifier_value: `D${this.#next()}` });
      (dead.details as Json).death_place = this.#place();
      if (status === "M") (widowed.details as Json).marital_status = "W";
    }
    return out;
  }

  /** The record of a stillborn child: its parents and a death registration number. */
  #fetalDeath(surname: string, date: string, home: Json, parents: Json): Json {
    const n = this.#next();
    return {
      id: `CRVS${n}`,
      identifier: [{ identifier_type: "DRN", identifier_value: `F${n}` }],
      name: { surname },
      address: home,
      registration_date: `${date}T12:00:00.000Z`,
      details: { vital_events: [{ type: "fetal_death", date, place: this.#place() }], ...parents },
    };
  }
}

function day(ms: number): string {
  return new Date(Math.min(ms, REFERENCE_DAY - DAY)).toISOString().slice(0, 10);
}

function uin(person: Json): Json {
  return { identifier_type: "UIN", identifier_value: (person.identifier as Json[])[0].identifier_value };
}
