/** The farmer registry demo's places (farmers' addresses and farm locations) resolve in the demo locations.json. */
import assert from "node:assert/strict";
import { unresolvedPlaces } from "../helpers/locations.ts";
import { demoPlaces } from "../../src/locations/demo.ts";
import { locationsDocument } from "../../src/locations/document.ts";
import { frProfile } from "../../src/registries/fr/mod.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("every region and locality of the fr demo, addresses and farm locations, resolves in the demo hierarchy", () => {
  const doc = locationsDocument({
    info: { version: 1, source: "demo", updatedAt: "2026-01-01T00:00:00.000Z", places: 0 },
    places: demoPlaces(),
  });
  for (const seed of [1, 2, 7]) {
    const records = [...frProfile.demo(2000, seed)] as Json[];
    const farms = records.flatMap((r) => r.details?.farm_details ?? []).map((f: Json) => f.location);
    assert.ok(farms.length > 1000 && farms.every((l: Json) => l.region_code && l.locality));
    assert.deepEqual(unresolvedPlaces(records, doc), [], `seed ${seed}`);
  }
  const bad = [{
    details: { farm_details: [{ location: { region_code: "central_region", locality: "Northgate" } }] },
  }];
  assert.equal(unresolvedPlaces(bad, doc).length, 1, "a farm's locality outside its region is caught");
});
