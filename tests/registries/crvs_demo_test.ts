/** crvs demo(): the partners' test records first, then deterministic synthetic families; and the import columns. */
import assert from "node:assert/strict";
import { CRVS_PERSON_RECORD, crvsProfile } from "../../src/registries/crvs/mod.ts";
import { DEMO_PLACES } from "../../src/registry/seed.ts";
import { crvsDetails } from "../../src/registries/crvs/details.ts";
import { crvsRegistrant, crvsValidator } from "./crvs_fixture.ts";

type Json = Record<string, unknown>;

const FIXED = ["CRVS-TEST-PARENT-1", "CRVS-TEST-PARENT-2", "CRVS-TEST-BIRTH", "CRVS-TEST-DEATH"];

function ids(records: Iterable<Json>): string[] {
  return [...records].map((r) => String(r.id));
}

Deno.test("crvs demo() yields the fixed test records first, then exactly `count` deterministic records", () => {
  assert.deepEqual(ids(crvsProfile.demo(0, 1)), FIXED);
  const a = [...crvsProfile.demo(250, 7)].map((r) => JSON.stringify(r));
  assert.equal(a.length, 254);
  assert.deepEqual([...crvsProfile.demo(250, 7)].map((r) => JSON.stringify(r)), a);
  const b = [...crvsProfile.demo(250, 8)].map((r) => JSON.stringify(r));
  assert.deepEqual(b.slice(0, 4), a.slice(0, 4), "the fixed records do not depend on the seed");
  assert.notDeepEqual(b.slice(4), a.slice(4));
  assert.deepEqual(ids(crvsProfile.demo(7, 7)), ids(crvsProfile.demo(250, 7)).slice(0, 11), "a prefix");
});

Deno.test("crvs demo records read without errors and map to valid CRVS_Person records", () => {
  for (const raw of crvsProfile.demo(400, 3)) {
    const rec = crvsProfile.toRecord(crvsRegistrant(raw), CRVS_PERSON_RECORD, { withContext: true });
    assert.deepEqual(crvsValidator.validate(rec, "CRVS_Person"), [], String(raw.id));
  }
});

Deno.test("crvs demo ids and identifiers are unique; parents are demo records; places are the demo's codes", () => {
  const regs = [...crvsProfile.demo(3000, 5)].map((r) => crvsRegistrant(r));
  const idKeys = regs.flatMap((r) => r.identifiers.map((i) => `${i.type}:${i.value}`));
  const idSet = new Set(idKeys);
  assert.equal(idSet.size, idKeys.length);
  assert.equal(new Set(regs.map((r) => r.externalId)).size, regs.length);
  const localities = new Set(Object.values(DEMO_PLACES).flat());
  const regions = new Set(Object.keys(DEMO_PLACES));
  const types = new Set<string>();
  const statuses = new Set<string>();
  for (const r of regs) {
    const d = crvsDetails(r.details);
    for (const p of [d.parent1_identifier, d.parent2_identifier]) {
      if (p) assert.ok(idSet.has(`${p.type}:${p.value}`), `${r.externalId}: parent ${p.value}`);
    }
    for (const e of d.vital_events) {
      types.add(e.type);
      if (e.place?.locality) assert.ok(localities.has(e.place.locality), e.place.locality);
      if (e.place?.region_code) assert.ok(regions.has(e.place.region_code), e.place.region_code);
      assert.ok(e.date < "2026-01-01", `${r.externalId}: ${e.type} ${e.date}`);
    }
    for (const a of r.addresses) assert.ok(localities.has(a.locality!) && regions.has(a.region_code!));
    if (d.marital_status) statuses.add(d.marital_status);
    if (r.deathDate) assert.ok(r.identifiers.some((i) => i.type === "DRN"), `${r.externalId} has a DRN`);
  }
  assert.deepEqual([...types].sort(), [
    "adoption",
    "death",
    "divorce",
    "fetal_death",
    "live_birth",
    "marriage",
  ]);
  assert.deepEqual([...statuses].sort(), ["D", "M", "W"]);
});

Deno.test("crvs import columns put each CSV cell under details, and a row of them reads", () => {
  const row: Record<string, string> = {
    vital_events: "adoption:2001-02-03",
    birth_place_name: "Riverside District Hospital",
    birth_place_locality: "Riverside",
    birth_place_region: "central_region",
    birth_place_address: "1 Main Road",
    death_place_name: "Northgate Health Centre",
    death_place_locality: "Northgate",
    death_place_region: "northern_region",
    death_place_address: "2 Station Road",
    marital_status: "married",
    marriage_date: "2020-01-01|2022-02-02",
    divorce_date: "2021-01-01",
    parent1_identifier: "UIN:1",
    parent2_identifier: "UIN:2",
  };
  assert.deepEqual(crvsProfile.importColumns.map((c) => c.column).sort(), Object.keys(row).sort());
  const raw: Json = { birth_date: "2000-01-01", death_date: "2024-01-01" };
  for (const c of crvsProfile.importColumns) {
    assert.match(c.path, /^details\./);
    const parts = c.path.split(".");
    let at = raw;
    for (const p of parts.slice(0, -1)) at = (at[p] ??= {}) as Json;
    at[parts.at(-1)!] = row[c.column];
  }
  const reg = crvsRegistrant(raw);
  assert.deepEqual(crvsDetails(reg.details).vital_events.map((e) => `${e.type}:${e.date}`), [
    "live_birth:2000-01-01",
    "adoption:2001-02-03",
    "marriage:2020-01-01",
    "divorce:2021-01-01",
    "marriage:2022-02-02",
    "death:2024-01-01",
  ]);
  assert.equal(crvsDetails(reg.details).marital_status, "M");
});
