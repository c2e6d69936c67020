/** GET /.well-known/locations.json and the admin read of the place hierarchy, through the app. */
import assert from "node:assert/strict";
import { createApp } from "../helpers/app.ts";
import { testDeps } from "../helpers/deps.ts";
import { locationsSpecErrors } from "../helpers/locations.ts";
import { runStartupTasks } from "../../src/startup.ts";
import { demoPlaces } from "../../src/locations/demo.ts";
import type { Place } from "../../src/locations/model.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const PATHS = ["/.well-known/locations.json", "/dci_api/v1/.well-known/locations.json"];

/** Fresh deps holding the demo hierarchy (version 1), and the app over them. */
async function withDemoHierarchy() {
  const deps = await testDeps();
  await deps.storage.locations.replace(demoPlaces(), {
    source: "demo",
    now: new Date(deps.clock.now()).toISOString(),
  });
  return { deps, app: createApp(deps) };
}

Deno.test("GET /.well-known/locations.json answers the seeded demo hierarchy, valid against the locations spec", async () => {
  const deps = await testDeps({ seedDemo: "true", demoSize: "10" });
  try {
    await runStartupTasks(deps);
    const app = createApp(deps);
    for (const path of PATHS) {
      const res = await app.request(path);
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
      assert.equal(res.headers.get("cache-control"), "public, max-age=300");
      const body = await res.json() as Json;
      assert.deepEqual(locationsSpecErrors(200, body), []);
      assert.equal(body["@type"], "LocationHierarchy");
      assert.equal(body.last_updated, new Date(deps.clock.now()).toISOString());
      assert.equal(body.locations.length, demoPlaces().length);
      const central = body.locations.find((p: Json) => p.id === "central_region");
      assert.deepEqual(central, {
        "@type": "Place",
        id: "central_region",
        identifier: [{ "@type": "PropertyValue", name: "region_code", identifier: "central_region" }],
        name: "Central Region",
        additional_type: "region",
        contained_in_place: "ZZ",
        containedInPlace: "ZZ",
      });
      const root = body.locations[0];
      assert.equal(root.id, "ZZ");
      assert.equal(root.contained_in_place, null, "a root's parent is null, as the spec says");
    }
  } finally {
    deps.close();
  }
});

Deno.test("locations.json: a Place with only the spec's defined properties fails its required list, ours passes", () => {
  // The published Place requires `id` and `containedInPlace` but defines `identifier` and `contained_in_place`:
  // the server sends both spellings (src/locations/document.ts). This shows why, against the unrelaxed spec.
  const doc = (place: Json) => ({
    "@context": {
      "@context": "http://spdci.org/",
      xsd: "http://www.w3.org/2001/XMLSchema#",
      schema: "http://schema.org/",
    },
    "@type": "LocationHierarchy",
    last_updated: "2026-01-01T00:00:00.000Z",
    locations: [place],
  });
  const definedOnly = { "@type": "Place", identifier: [], name: "X", contained_in_place: null };
  const errors = locationsSpecErrors(200, doc(definedOnly));
  assert.ok(errors.some((e) => /containedInPlace/.test(e)), errors.join("\n"));
  assert.ok(errors.some((e) => /'id'/.test(e)), errors.join("\n"));
  assert.deepEqual(locationsSpecErrors(200, doc({ ...definedOnly, id: "X", containedInPlace: null })), []);
});

Deno.test("GET /.well-known/locations.json answers 404 with the spec's HttpErrorResponse when no hierarchy exists", async () => {
  const deps = await testDeps();
  try {
    const res = await createApp(deps).request(PATHS[0]);
    assert.equal(res.status, 404);
    const body = await res.json();
    assert.deepEqual(locationsSpecErrors(404, body), []);
    assert.equal(body.errors[0].code, "err.request.not_found");
    assert.match(body.errors[0].message, /import-locations/);
  } finally {
    deps.close();
  }
});

Deno.test("GET /.well-known/locations.json: ETag and 304, and a replace is served at once with a new ETag", async () => {
  const { deps, app } = await withDemoHierarchy();
  try {
    const now = () => new Date(deps.clock.now()).toISOString();
    const first = await app.request(PATHS[0]);
    const etag = first.headers.get("etag")!;
    assert.match(etag, /^W\/"locations-1-/);
    await first.body?.cancel();
    const same = await app.request(PATHS[0], { headers: { "if-none-match": `"other", ${etag.slice(2)}` } });
    assert.equal(same.status, 304);
    assert.equal(await same.text(), "");
    assert.equal((await app.request(PATHS[0], { headers: { "if-none-match": "*" } })).status, 304);
    const other = await app.request(PATHS[0], { headers: { "if-none-match": '"other"' } });
    assert.equal(other.status, 200);
    await other.body?.cancel();
    deps.clock.advance(60_000);
    const small: Place[] = [{ code: "AA", name: "Aland", level: "country", parent: null, identifiers: [] }];
    await deps.storage.locations.replace(small, { source: "a.csv", now: now() });
    const after = await app.request(PATHS[0], { headers: { "if-none-match": etag } });
    assert.equal(after.status, 200);
    assert.notEqual(after.headers.get("etag"), etag);
    const body = await after.json();
    assert.deepEqual(body.locations.map((p: Json) => p.id), ["AA"]);
    assert.equal(body.last_updated, now());
  } finally {
    deps.close();
  }
});

Deno.test("admin GET /admin/v1/locations: hierarchy info, children of a place, roots, one place with its path", async () => {
  const { deps, app } = await withDemoHierarchy();
  try {
    const { token } = await deps.storage.adminTokens.create({ role: "viewer" });
    const get = async (path: string, auth = true) => {
      const res = await app.request(`/admin/v1${path}`, {
        headers: auth ? { authorization: `Bearer ${token}` } : {},
      });
      return { status: res.status, body: await res.json() as Json };
    };
    const all = await get("/locations?limit=3");
    assert.equal(all.status, 200);
    assert.deepEqual(all.body.hierarchy, {
      version: 1,
      source: "demo",
      updated_at: new Date(deps.clock.now()).toISOString(),
      places: demoPlaces().length,
    });
    assert.deepEqual(all.body.items.map((p: Json) => p.code), ["ZZ", "central_region", "northern_region"]);
    const children = await get("/locations?parent=central_region&limit=100");
    assert.deepEqual(children.body.items.map((p: Json) => p.name), [
      "Riverside",
      "Hillcrest",
      "Market Town",
      "Old Mill",
    ]);
    const roots = await get("/locations?parent=");
    assert.deepEqual(roots.body.items.map((p: Json) => p.code), ["ZZ"]);
    const regions = await get("/locations?level=region");
    assert.equal(regions.body.items.length, 5);
    const one = await get("/locations/market_town");
    assert.equal(one.status, 200);
    assert.deepEqual(one.body.ancestors.map((p: Json) => p.code), ["ZZ", "central_region"]);
    assert.equal(one.body.children, 0);
    assert.equal(one.body.document.containedInPlace, "central_region");
    assert.equal((await get("/locations/nowhere")).status, 404);
    assert.equal((await get("/locations?level=village")).status, 400);
    assert.equal((await get("/locations", false)).status, 401);
  } finally {
    deps.close();
  }
});

Deno.test("the OpenAPI document describes /.well-known/locations.json and the admin locations routes", async () => {
  const deps = await testDeps();
  try {
    const doc = await (await createApp(deps).request("/dci_api/v1/openapi.json")).json() as Json;
    const op = doc.paths["/.well-known/locations.json"].get;
    assert.deepEqual(Object.keys(op.responses).sort(), ["200", "304", "404", "500"]);
    assert.ok(doc.components.schemas.LocationHierarchy);
    assert.ok(doc.components.schemas.Place.properties.containedInPlace);
    assert.ok(doc.paths["/admin/v1/locations"].get);
    assert.ok(doc.paths["/admin/v1/locations/{code}"].get);
  } finally {
    deps.close();
  }
});

Deno.test("GET /.well-known/locations.json sends gzip to a client that accepts it, the same document", async () => {
  const { deps, app } = await withDemoHierarchy();
  try {
    const plain = await app.request(PATHS[0]);
    assert.equal(plain.headers.get("content-encoding"), null);
    assert.equal(plain.headers.get("vary"), "Accept-Encoding");
    const expected = await plain.json();
    const zipped = await app.request(PATHS[0], { headers: { "accept-encoding": "br;q=1, gzip;q=0.8" } });
    assert.equal(zipped.headers.get("content-encoding"), "gzip");
    const text = await new Response(zipped.body!.pipeThrough(new DecompressionStream("gzip"))).text();
    assert.deepEqual(JSON.parse(text), expected);
    const refused = await app.request(PATHS[0], { headers: { "accept-encoding": "gzip;q=0, identity" } });
    assert.equal(refused.headers.get("content-encoding"), null);
    assert.deepEqual(await refused.json(), expected);
  } finally {
    deps.close();
  }
});

Deno.test("GET /.well-known/locations.json: requests arriving together load the hierarchy once", async () => {
  const { deps, app } = await withDemoHierarchy();
  try {
    let loads = 0;
    const load = deps.storage.locations.load.bind(deps.storage.locations);
    deps.storage.locations.load = () => (loads++, load());
    const answers = await Promise.all(Array.from({ length: 8 }, () => app.request(PATHS[0])));
    for (const res of answers) {
      assert.equal(res.status, 200);
      await res.body?.cancel();
    }
    assert.equal(loads, 1);
    await (await app.request(PATHS[1])).body?.cancel();
    assert.equal(loads, 1, "the same version is not loaded again");
  } finally {
    deps.close();
  }
});
