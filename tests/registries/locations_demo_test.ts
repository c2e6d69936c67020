/** The demo place hierarchy: the places of the demo records resolve in /.well-known/locations.json. */
import assert from "node:assert/strict";
import { createApp } from "../helpers/app.ts";
import { testDeps } from "../helpers/deps.ts";
import { locationsSpecErrors, unresolvedPlaces } from "../helpers/locations.ts";
import { runStartupTasks } from "../../src/startup.ts";
import { DEMO_PLACES, demoRecords } from "../../src/registries/social/seed.ts";
import { fromRow, REGISTRANT_SELECT } from "../../src/registry/store.ts";
import { toDciRecord } from "../../src/registries/social/mapping.ts";
import { demoPlaces, locationsStartup } from "../../src/locations/demo.ts";
import { locationsDocument } from "../../src/locations/document.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("every country, region and locality of the seeded demo records resolves in the served locations.json", async () => {
  const deps = await testDeps({ seedDemo: "true", demoSize: "400" });
  try {
    await runStartupTasks(deps);
    const res = await createApp(deps).request("/.well-known/locations.json");
    assert.equal(res.status, 200);
    const doc = await res.json() as Json;
    assert.deepEqual(locationsSpecErrors(200, doc), []);
    // The records as the server sends them (DCI JSON-LD), read back from the seeded database.
    const rows = await deps.sql(`${REGISTRANT_SELECT} ORDER BY r.id`);
    // SQLite stores the record as JSON text, PostgreSQL as jsonb (an object here).
    const records: Json[] = rows.map((r) =>
      toDciRecord(
        fromRow({ ...r, data: typeof r.data === "string" ? r.data : JSON.stringify(r.data) } as never),
      )
    );
    assert.ok(records.length > 400, "persons and their households");
    assert.deepEqual(unresolvedPlaces(records, doc), []);
    const localities = new Set(records.flatMap((r) => (r.address ?? []).map((a: Json) => a.locality)));
    assert.ok(localities.size >= 15, `the demo spreads over the localities (${localities.size})`);
  } finally {
    deps.close();
  }
});

Deno.test("the demo hierarchy holds every region and locality the demo generator can pick, for any seed", () => {
  const h = {
    info: { version: 1, source: "demo", updatedAt: "2026-01-01T00:00:00.000Z", places: 0 },
    places: demoPlaces(),
  };
  const doc = locationsDocument(h);
  for (const seed of [1, 2, 7]) {
    const records = [...demoRecords(3000, seed)].map((r) => r.raw);
    assert.deepEqual(unresolvedPlaces(records, doc), [], `seed ${seed}`);
  }
  const names = demoPlaces().filter((p) => p.level === "locality").map((p) => p.name).sort();
  assert.deepEqual(names, Object.values(DEMO_PLACES).flat().sort());
});

Deno.test("unresolvedPlaces() reports an unknown region, a locality of another region and an unknown country", () => {
  const h = {
    info: { version: 1, source: "demo", updatedAt: "2026-01-01T00:00:00.000Z", places: 0 },
    places: demoPlaces(),
  };
  const doc = locationsDocument(h);
  const problems = unresolvedPlaces([
    { address: [{ region_code: "central_region", locality: "Riverside", country_code: "ZZ" }] },
    { address: [{ region_code: "east", locality: "Riverside" }] },
    { address: [{ region_code: "northern_region", locality: "Riverside" }] },
    { details: { farm: { address: { country_code: "YY", region_code: "Riverside" } } } },
  ], doc);
  assert.deepEqual(problems, [
    'record 1.address[0].region_code: no region "east"',
    'record 1.address[0].locality: no locality "Riverside" in east',
    'record 2.address[0].locality: no locality "Riverside" in northern_region',
    'record 3.details.farm.address.country_code: no country "YY"',
    'record 3.details.farm.address.region_code: no region "Riverside"',
  ]);
});

Deno.test("locationsStartup() seeds the demo hierarchy once, never over an imported one, and not with the demo off or real records", async () => {
  const on = await testDeps({ seedDemo: "true", demoSize: "5" });
  try {
    const now = new Date(on.clock.now()).toISOString();
    await on.storage.locations.replace(
      [{ code: "AA", name: "Aland", level: "country", parent: null, identifiers: [] }],
      {
        source: "aland.csv",
        now,
      },
    );
    await locationsStartup(on);
    assert.equal((await on.storage.locations.info())?.source, "aland.csv");
    assert.deepEqual((await on.storage.locations.load())?.places.map((p) => p.code), ["AA"]);
  } finally {
    on.close();
  }
  const fresh = await testDeps({ seedDemo: "true", demoSize: "5" });
  try {
    await locationsStartup(fresh);
    await locationsStartup(fresh);
    assert.deepEqual([
      (await fresh.storage.locations.info())?.source,
      (await fresh.storage.locations.info())?.version,
    ], ["demo", 1]);
  } finally {
    fresh.close();
  }
  const held = await testDeps({ seedDemo: "true", demoSize: "5" });
  try {
    const now = new Date(held.clock.now()).toISOString();
    await held.storage.registryLoad.writeAll([{
      line: 1,
      raw: { id: "P1", identifier: [{ identifier_type: "UIN", identifier_value: "1" }] },
    }], {
      now: () => now,
    });
    await locationsStartup(held);
    assert.equal(
      await held.storage.locations.info(),
      undefined,
      "a registry with records of its own gets no demo places",
    );
  } finally {
    held.close();
  }
  const off = await testDeps({ seedDemo: "false" });
  try {
    await locationsStartup(off);
    assert.equal(await off.storage.locations.info(), undefined);
  } finally {
    off.close();
  }
});
