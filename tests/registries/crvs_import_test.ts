/**
 * crvs import: CSV through the registry's column table and NDJSON in the input record shape, written with their
 * searchable values and registry events; bad rows refused naming the field, nothing of them written.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { csvRecords } from "../../src/registry/csv.ts";
import { ndjsonRecords } from "../../src/registry/sources.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { crvsDetails } from "../../src/registries/crvs/details.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function* chunks(text: string): AsyncGenerator<string> {
  yield text;
}

const HEADER = [
  "id",
  "given_name",
  "surname",
  "sex",
  "birth_date",
  "death_date",
  "id.UIN",
  "id.BRN",
  "id.DRN",
  ...crvsProfile.importColumns.map((c) => c.column),
];

function row(cells: Record<string, string>): string {
  return HEADER.map((h) => cells[h] ?? "").join(",");
}

Deno.test("crvs import: every CSV column of the table lands in details; values and events are written", async () => {
  const deps = await testDeps();
  try {
    const csv = [
      HEADER.join(","),
      row({
        id: "C1",
        given_name: "Ann",
        surname: "Lee",
        sex: "female",
        birth_date: "1950-01-01",
        death_date: "2025-12-01",
        "id.UIN": "U-C1",
        "id.DRN": "D-C1",
        vital_events: "adoption:1951-02-03",
        birth_place_name: "Riverside District Hospital",
        birth_place_locality: "Riverside",
        birth_place_region: "central_region",
        birth_place_address: "1 Main Road",
        death_place_name: "Northgate Health Centre",
        death_place_locality: "Northgate",
        death_place_region: "northern_region",
        death_place_address: "2 Station Road",
        marital_status: "widowed",
        marriage_date: "1970-01-01|1980-02-02",
        divorce_date: "1975-01-01",
        parent1_identifier: "UIN:P-1",
        parent2_identifier: "UIN:P-2",
      }),
      row({
        id: "C2",
        surname: "Bad",
        birth_date: "2020-01-01",
        "id.BRN": "B-C2",
        marital_status: "complicated",
      }),
      row({
        id: "C3",
        surname: "Lee",
        birth_date: "2024-05-05",
        "id.BRN": "B-C3",
        parent1_identifier: "UIN:U-C1",
      }),
    ].join("\n") + "\n";
    const now = () => new Date(deps.clock.now()).toISOString();
    const report = await deps.storage.registryLoad.writeAll(csvRecords(chunks(csv), crvsProfile), {
      now,
      profile: crvsProfile,
    });
    assert.equal(report.registered, 2);
    assert.deepEqual(report.rejected.map((r) => r.line), [3]);
    assert.match(report.rejected[0].reason, /details\.marital_status: "complicated" is not one of/);
    const c1 = (await deps.storage.registry.get("C1", "crvs"))!;
    const d = crvsDetails(c1.details);
    assert.deepEqual(d.vital_events.map((e) => `${e.type}:${e.date}`), [
      "live_birth:1950-01-01",
      "adoption:1951-02-03",
      "marriage:1970-01-01",
      "divorce:1975-01-01",
      "marriage:1980-02-02",
      "death:2025-12-01",
    ]);
    assert.deepEqual(d.vital_events[0].place, {
      name: "Riverside District Hospital",
      address_line: "1 Main Road",
      locality: "Riverside",
      region_code: "central_region",
    });
    assert.equal(d.vital_events.at(-1)!.place?.name, "Northgate Health Centre");
    assert.equal(d.marital_status, "W");
    assert.deepEqual([d.parent1_identifier, d.parent2_identifier], [
      { type: "UIN", value: "P-1" },
      { type: "UIN", value: "P-2" },
    ]);
    const values = (await deps.sql(
      `SELECT v.attr, v.value FROM registrant_values v JOIN registrants r ON r.id = v.registrant_id
       WHERE r.external_id = 'C3' ORDER BY 1, 2`,
    )).map((r) => `${r.attr}=${r.value}`);
    // parent_identifier has no rows of its own: it is answered from the parents' (ProfileAttribute.storedAs). A
    // birth registered without a place (a BRN, a parent, a birth_date) is a live birth all the same.
    assert.deepEqual(values, [
      "parent1_identifier=U-C1",
      "vital_event_date=2024-05-05",
      "vital_event_type=live_birth",
    ]);
    const events = (await deps.sql(
      "SELECT registry || ' ' || record_type || ' ' || event_type AS e FROM registry_events ORDER BY id",
    )).map((r) => r.e);
    assert.deepEqual(events, ["crvs crvs_person registration", "crvs crvs_person registration"]);
  } finally {
    deps.close();
  }
});

Deno.test("crvs import: NDJSON records with details; an unknown field anywhere refuses the record naming it", async () => {
  const deps = await testDeps();
  try {
    const lines = [
      {
        id: "N1",
        identifier: [{ identifier_type: "MRN", identifier_value: "M-1" }],
        surname: "Kamau",
        birth_date: "1990-01-01",
        details: { vital_events: [{ type: "Marriage", date: "2015-05-05" }], marital_status: "M" },
      },
      {
        id: "N2",
        surname: "Bad",
        details: { vital_events: [{ type: "death", date: "2020-01-01", cause: "x" }] },
      },
      { id: "N3", surname: "Bad", favourite_colour: "blue" },
      { id: "N4", surname: "Bad", details: { religion: "x" } },
    ].map((r) => JSON.stringify(r)).join("\n");
    const report = await deps.storage.registryLoad.writeAll(ndjsonRecords(chunks(lines)), {
      now: () => new Date(deps.clock.now()).toISOString(),
      profile: crvsProfile,
    });
    assert.equal(report.registered, 1);
    assert.deepEqual(report.rejected.map((r) => r.line), [2, 3, 4]);
    assert.match(report.rejected[0].reason, /details\.vital_events\[0\]\.cause: unknown field/);
    assert.match(report.rejected[1].reason, /favourite_colour: unknown field/);
    assert.match(report.rejected[2].reason, /details\.religion: unknown field/);
    const [n] = await deps.sql("SELECT COUNT(*) AS n FROM registrants WHERE registry = 'crvs'");
    assert.equal(Number(n.n), 1, "nothing of the refused records is written");
  } finally {
    deps.close();
  }
});
