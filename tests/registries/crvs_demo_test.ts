/** crvs demo(): the partners' test records first, then deterministic synthetic families; and the import columns. */
import assert from "node:assert/strict";
import { CRVS_PERSON_RECORD, crvsProfile } from "../../src/registries/crvs/mod.ts";
import { DEMO_PLACES } from "../../src/registries/social/seed.ts";
import { crvsDetails } from "../../src/registries/crvs/details.ts";
import { crvsRegistrant, crvsValidator } from "./crvs_fixture.ts";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { unresolvedPlaces } from "../helpers/locations.ts";
import { runStartupTasks } from "../../src/startup.ts";

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

Deno.test("crvs demo places (addresses and event places) resolve in the served locations.json", async () => {
  const deps = await testDeps({ seedDemo: "true", demoSize: "50" });
  try {
    await runStartupTasks(deps);
    const doc = await (await createApp(deps).request("/.well-known/locations.json")).json();
    const [stored] = await deps.sql("SELECT COUNT(*) AS n FROM registrants WHERE registry = 'crvs'");
    assert.equal(
      Number(stored.n),
      54,
      "the crvs demo is seeded on an empty data dir: the 4 test records and 50 more",
    );
    const records = [...crvsProfile.demo(2000, 1)];
    assert.deepEqual(unresolvedPlaces(records, doc), []);
    assert.ok(unresolvedPlaces([{ details: { birth_place: { locality: "Atlantis" } } }], doc).length > 0);
  } finally {
    deps.close();
  }
});
