/** IBR CSV import through the profile's column table: programmes and beneficiaries, one enrolment per row. */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { csvRecords } from "../../src/registry/csv.ts";
import { ibrProfile } from "../../src/registries/ibr/index.ts";
import { checkIbr } from "./ibr_jsonld.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const CSV = [
  "id,record_type,id.UIN,given_name,surname,birth_date,region,locality,country,programme_identifier,programme_name," +
  "enrollment_date,enrollment_status,status_change_date,benefit_type,benefit_date,benefit_value,programme_id," +
  "programme_title,programme_type,social_protection_functions",
  "CG,Programme,,,,,,,,,,,,,,,,CG-1,Child Grant,3,Family|Maternity / Paternity Children",
  "B1,Beneficiary,U-1,Amani,Banda,2019-03-04,central_region,Riverside,ZZ,CG-1,Child Grant,2020-01-01,1," +
  "2021-01-01|2020-06-01,cash,2020-02-01,USD 20,,,,",
  "B2,Beneficiary,U-2,Keza,Tembo,2018-05-06,central_region,Hillcrest,ZZ,CG-1,Child Grant,2020-01-01,Enrolled,,,,,,,,",
  "B3,Beneficiary,U-3,Omar,Juma,1950-01-01,northern_region,Northgate,ZZ,,,,,,,,,,,,",
].join("\n");

async function* chunks(text: string): AsyncGenerator<string> {
  yield text;
}

Deno.test("IBR CSV import: each row through the column table; a bad enrolment status refused naming its column path", async () => {
  const deps = await testDeps();
  try {
    const now = () => new Date(deps.clock.now()).toISOString();
    const report = await deps.storage.registryLoad.writeAll(csvRecords(chunks(CSV), ibrProfile), {
      now,
      profile: ibrProfile,
    });
    assert.equal(report.registered, 3, JSON.stringify(report));
    assert.equal(report.rejectedCount, 1);
    assert.match(
      JSON.stringify(report.rejected),
      /details\.enrolments\[0\]\.enrollment_status: \\"Enrolled\\" is not in EnrollmentStatusEnum/,
    );
    const out = await deps.storage.search.message(deps, {
      registry: "ibr",
      header: { version: "1.0.0", action: "search", total_count: 1 },
      message: {
        transaction_id: "t",
        search_request: [{
          reference_id: "r",
          timestamp: "2026-01-01T00:00:00Z",
          search_criteria: {
            query_type: "predicate",
            query: [{
              expression1: { attribute_name: "programme", operator: "eq", attribute_value: "CG-1" },
            }],
          },
        }],
      },
    });
    const records = (out.message as Json).search_response[0].data.reg_records;
    assert.deepEqual(records.map((r: Json) => r["@id"]), ["B1"]);
    assert.deepEqual(checkIbr(records[0], "Beneficiary", { top: true }), []);
    assert.deepEqual(records[0].status_change_date, ["2020-06-01T00:00:00Z", "2021-01-01T00:00:00Z"]);
    assert.deepEqual(records[0].benefits[0].benefit_value, "USD 20");
    const [programme] = await deps.sql(
      "SELECT d.data FROM registrants r JOIN registrant_data d ON d.id = r.id WHERE r.external_id = 'CG'",
    );
    // SQLite stores the record as JSON text, PostgreSQL as jsonb (an object here).
    const data = typeof programme.data === "string" ? JSON.parse(programme.data) : programme.data;
    assert.deepEqual(data.details.social_protection_functions, [
      "Family",
      "Maternity / Paternity Children",
    ]);
  } finally {
    deps.close();
  }
});
