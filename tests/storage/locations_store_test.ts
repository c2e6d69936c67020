/** The location store, the same contract on both backends. */
import { deepEqual, equal, rejects } from "node:assert/strict";
import { backendSqlTest, backendTest } from "../helpers/storage.ts";
import type { Place } from "../../src/locations/model.ts";

const NOW = "2026-04-01T00:00:00.000Z";
const place = (
  code: string,
  level: Place["level"],
  parent: string | null,
  identifiers: Place["identifiers"] = [],
) => ({
  code,
  name: `Place ${code}`,
  level,
  parent,
  identifiers,
});

const LAND: Place[] = [
  place("XA", "country", null, [{ name: "ISO 3166-1", identifier: "XA" }]),
  place("XA-N", "region", "XA"),
  place("XA-S", "region", "XA"),
  place("XA-N-1", "sub_region", "XA-N"),
  place("XA-N-1-a", "locality", "XA-N-1", [{ name: "PCODE", identifier: "a1" }, {
    name: "GEO",
    identifier: "g",
  }]),
  place("XA-N-1-b", "locality", "XA-N-1"),
];

backendTest("location store: nothing is known before the first replace", async (s) => {
  equal(await s.locations.info(), undefined);
  equal(await s.locations.load(), undefined);
  equal(await s.locations.place("XA"), undefined);
  deepEqual(await s.locations.list({ limit: 10, offset: 0 }), []);
});

backendTest(
  "location store: a replace is read back whole, in document order, with its version",
  async (s) => {
    deepEqual(await s.locations.replace(LAND, { source: "land.csv", now: NOW }), {
      added: 6,
      kept: 0,
      removed: 0,
      version: 1,
    });
    deepEqual(await s.locations.info(), { version: 1, source: "land.csv", updatedAt: NOW, places: 6 });
    const h = await s.locations.load();
    deepEqual(h, { info: { version: 1, source: "land.csv", updatedAt: NOW, places: 6 }, places: LAND });

    const next = [LAND[0], LAND[2], place("XA-E", "region", "XA")];
    deepEqual(await s.locations.replace(next, { source: "x".repeat(300), now: "2026-04-02T00:00:00.000Z" }), {
      added: 1,
      kept: 2,
      removed: 4,
      version: 2,
    });
    const info = (await s.locations.info())!;
    equal(info.version, 2);
    equal(info.source.length, 200);
    deepEqual((await s.locations.load())!.places, next);
    equal(await s.locations.place("XA-N-1-a"), undefined);
  },
);

backendTest("location store: a replace that fails leaves the previous hierarchy as it was", async (s) => {
  await s.locations.replace(LAND, { source: "land.csv", now: NOW });
  // The same code twice breaks the primary key after the old places were deleted: all of it is rolled back.
  await rejects(s.locations.replace([place("YB", "country", null), place("YB", "country", null)], {
    source: "bad.csv",
    now: NOW,
  }));
  deepEqual(await s.locations.info(), { version: 1, source: "land.csv", updatedAt: NOW, places: 6 });
  deepEqual((await s.locations.load())!.places, LAND);
});

backendTest(
  "location store: a place comes with its ancestors, root first, and its number of children",
  async (s) => {
    await s.locations.replace(LAND, { source: "land.csv", now: NOW });
    deepEqual(await s.locations.place("XA-N-1-a"), {
      place: LAND[4],
      ancestors: [LAND[0], LAND[1], LAND[3]],
      children: 0,
    });
    deepEqual(await s.locations.place("XA"), { place: LAND[0], ancestors: [], children: 2 });
    equal((await s.locations.place("XA-N-1"))!.children, 2);
    equal(await s.locations.place("XA' OR '1'='1"), undefined);
  },
);

backendTest(
  'location store: list filters by parent ("" for the roots) and level, pages in document order',
  async (s) => {
    await s.locations.replace(LAND, { source: "land.csv", now: NOW });
    const codes = async (filter: Parameters<typeof s.locations.list>[0]) =>
      (await s.locations.list(filter)).map((p) => p.code);
    deepEqual(await codes({ limit: 100, offset: 0 }), LAND.map((p) => p.code));
    deepEqual(await codes({ parent: "", limit: 100, offset: 0 }), ["XA"]);
    deepEqual(await codes({ parent: "XA", limit: 100, offset: 0 }), ["XA-N", "XA-S"]);
    deepEqual(await codes({ level: "locality", limit: 100, offset: 0 }), ["XA-N-1-a", "XA-N-1-b"]);
    deepEqual(await codes({ parent: "XA-N-1", level: "locality", limit: 1, offset: 1 }), ["XA-N-1-b"]);
    deepEqual(await codes({ parent: "XA", level: "locality", limit: 100, offset: 0 }), []);
    deepEqual(await codes({ limit: 2, offset: 5 }), ["XA-N-1-b"]);
    deepEqual((await s.locations.list({ level: "locality", limit: 1, offset: 0 }))[0], LAND[4]);
  },
);

backendTest("location store: a hierarchy of 12,001 places is replaced and read back in order", async (s) => {
  const big: Place[] = [place("ZZ", "country", null)];
  for (let i = 0; i < 12_000; i++) big.push(place(`ZZ-${i}`, "region", "ZZ"));
  equal((await s.locations.replace(big, { source: "big", now: NOW })).added, 12_001);
  const h = (await s.locations.load())!;
  equal(h.places.length, 12_001);
  deepEqual(h.places.map((p) => p.code), big.map((p) => p.code));
  equal((await s.locations.place("ZZ"))!.children, 12_000);
  deepEqual((await s.locations.list({ parent: "ZZ", limit: 2, offset: 11_998 })).map((p) => p.code), [
    "ZZ-11998",
    "ZZ-11999",
  ]);
});

backendSqlTest(
  "location store: replaces from two instances at once take turns: one version each, one whole hierarchy",
  async (s, f) => {
    const other = f.twin();
    await s.locations.replace(LAND, { source: "land.csv", now: NOW });
    await other.locations.info(); // both instances connected before the race
    const versions = ["a", "b", "c", "d", "e", "f"].map((name, i) =>
      Array.from({ length: 50 + i }, (_, j) => place(`${name.toUpperCase()}${j}`, "country", null))
    );
    const results = await Promise.all(
      versions.map((places, i) =>
        (i % 2 ? other : s).locations.replace(places, { source: String(i), now: NOW })
      ),
    );
    deepEqual(results.map((r) => r.version).sort(), [2, 3, 4, 5, 6, 7]);
    const h = (await s.locations.load())!;
    equal(h.info.version, 7);
    deepEqual(h.places, versions[Number(h.info.source)], "the last replace whole, nothing of the others");
    equal(h.info.places, h.places.length);
  },
);
