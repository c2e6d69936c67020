/** A small registry with known people, for exact search assertions. */
import { type TestDeps, testDeps } from "../helpers/deps.ts";

/** The fixture's clock: ages are computed from this day. */
export const FIXTURE_NOW = Date.parse("2026-01-01T12:00:00Z");

const addr = (region: string, locality: string, country = "ZZ") => ({
  locality,
  region_code: region,
  country_code: country,
  postal_code: "1000",
});

/** The fixture records: two households, loose persons, one deleted person (P7). */
export const FIXTURE = [
  {
    id: "G1",
    record_type: "group",
    group_identifier: [{ identifier_type: "HOUSEHOLD_ID", identifier_value: "H-1" }],
    group_type: "household",
    group_size: 3,
    poverty_score: 3.2,
    address: addr("central_region", "Riverside"),
  },
  {
    id: "G2",
    record_type: "group",
    group_identifier: [{ identifier_type: "HOUSEHOLD_ID", identifier_value: "H-2" }],
    group_type: "household",
    group_size: 2,
    poverty_score: 7.5,
    address: addr("northern_region", "Northgate"),
  },
  {
    id: "P1",
    identifier: [{ identifier_type: "UIN", identifier_value: "U-1" }],
    name: { given_name: "Amina", surname: "Diallo" },
    sex: "female",
    birth_date: "1985-05-20",
    address: addr("central_region", "Riverside"),
    group_id: "G1",
    relationship: "SELF",
    phone_number: ["+99 700000001"],
  },
  {
    id: "P2",
    identifier: [{ identifier_type: "UIN", identifier_value: "U-2" }],
    name: { given_name: "Bakari", surname: "Diallo" },
    sex: "male",
    birth_date: "1982-03-15",
    address: addr("central_region", "Riverside"),
    group_id: "G1",
    relationship: "PRIMSPOUS",
  },
  {
    id: "P3",
    identifier: [{ identifier_type: "UIN", identifier_value: "U-3" }, {
      identifier_type: "BRN",
      identifier_value: "B-3",
    }],
    name: { given_name: "Chiku", surname: "Diallo" },
    sex: "female",
    birth_date: "2020-11-02",
    address: addr("central_region", "Riverside"),
    group_id: "G1",
    relationship: "DAU",
  },
  {
    id: "P4",
    identifier: [{ identifier_type: "UIN", identifier_value: "U-4" }],
    name: { given_name: "Daudi", surname: "Mensah" },
    sex: "male",
    birth_date: "2000-11-02",
    address: addr("northern_region", "Northgate"),
    group_id: "G2",
    relationship: "SELF",
  },
  {
    id: "P5",
    identifier: [{ identifier_type: "UIN", identifier_value: "U-5" }, {
      identifier_type: "BRN",
      identifier_value: "B-5",
    }],
    name: { given_name: "Esi", surname: "Mensah" },
    sex: "female",
    birth_date: "2020-11-02",
    address: addr("northern_region", "Northgate"),
    group_id: "G2",
    relationship: "DAU",
  },
  {
    id: "P6",
    identifier: [{ identifier_type: "UIN", identifier_value: "U-6" }],
    name: { given_name: "Femi", surname: "Okafor" },
    sex: "male",
    birth_date: "2000-11-01",
    address: addr("western_region", "Westfield"),
  },
  {
    id: "P7",
    identifier: [{ identifier_type: "UIN", identifier_value: "U-7" }],
    name: { given_name: "Grace", surname: "Okafor" },
    sex: "female",
    birth_date: "1999-12-31",
    address: addr("western_region", "Westfield"),
  },
  {
    id: "P8",
    identifier: [{ identifier_type: "UIN", identifier_value: "U-8" }],
    name: { given_name: "Hana", surname: "Perera" },
    sex: "other",
    birth_date: "2010-06-15",
    address: addr("southern_region", "Southport", "LK"),
  },
];

/** Fresh deps holding the fixture (P7 deleted). */
export async function fixtureDeps(overrides: Record<string, string> = {}): Promise<TestDeps> {
  const deps = await testDeps(overrides, { now: FIXTURE_NOW });
  const now = () => new Date(deps.clock.now()).toISOString();
  const report = await deps.storage.registryLoad.writeAll(FIXTURE.map((raw, i) => ({ line: i + 1, raw })), {
    now,
  });
  if (report.rejectedCount) throw new Error(JSON.stringify(report.rejected));
  await deps.storage.registry.delete("P7", { now: now() });
  return deps;
}

/** One search item. */
export function item(criteria: Record<string, unknown>, ref = "r1"): Record<string, unknown> {
  return { reference_id: ref, timestamp: "2026-01-01T00:00:00Z", search_criteria: criteria };
}

/** Runs one search item and returns its answer. */
export async function searchOne(deps: TestDeps, criteria: Record<string, unknown>) {
  const out = await deps.storage.search.message(deps, {
    registry: "social",
    header: { version: "1.0.0", action: "search", total_count: 1 },
    message: { transaction_id: "t", search_request: [item(criteria)] },
  });
  return out.message.search_response[0];
}

/** The @id values of a succ answer's records. */
export function ids(answer: { data?: { reg_records: Record<string, unknown>[] } }): string[] {
  return (answer.data?.reg_records ?? []).map((r) => String(r["@id"]));
}

/** A predicate query of one comparison. */
export function pred(attribute_name: string, operator: string, attribute_value: unknown) {
  return { query_type: "predicate", query: [{ expression1: { attribute_name, operator, attribute_value } }] };
}
