/** `dci-server registry import-locations FILE`: readers, row and hierarchy checks, all-or-nothing replace. */
import assert from "node:assert/strict";
import { runCliProcess, startServerProcess } from "../helpers/server.ts";
import { locationsSpecErrors } from "../helpers/locations.ts";
import { TEST_BACKEND, testDeps } from "../helpers/deps.ts";
import { withDataDirStorage } from "./data_dir_storage.ts";
import { createApp } from "../helpers/app.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { migrate } from "../../src/db/migrate.ts";
import { placeRows, readPlaces } from "../../src/locations/import.ts";
import { checkHierarchy, readPlace } from "../../src/locations/model.ts";
import { hierarchyInfo, loadHierarchy } from "../../src/locations/store.ts";
import { demoPlaces } from "../../src/locations/demo.ts";
import { locationsDocument } from "../../src/locations/document.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

async function* chunks(text: string, size = 7): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

// Header names in any case (`ID.` as spreadsheets write it).
const CSV = "Code,name,LEVEL,parent,ID.ISO3166-2\r\n" +
  "ZZ,Zedland,country,,\r\n" +
  'north,"North, Upper",region,ZZ,ZZ-NO\r\n' +
  "hills,Hills District,sub_region,north,\r\n" +
  "pine,Pine Valley,locality,hills,\r\n" +
  "lake,Lakeview,locality,north,\r\n";

const ROWS = [
  { code: "ZZ", name: "Zedland", level: "country" },
  {
    code: "north",
    name: "North, Upper",
    level: "region",
    parent_code: "ZZ",
    identifiers: [{ name: "ISO3166-2", identifier: "ZZ-NO" }],
  },
  { code: "hills", name: "Hills District", level: "sub_region", parent_code: "north" },
  { code: "pine", name: "Pine Valley", level: "locality", parent_code: "hills" },
  { code: "lake", name: "Lakeview", level: "locality", parent_code: "north" },
];

Deno.test("import-locations readers: CSV, a JSON array, NDJSON and a LocationHierarchy document give the same places", async () => {
  const read = async (first: string, text: string, format: "csv" | "json" | "ndjson") => {
    const r = await readPlaces(placeRows(format, first, chunks(text)));
    assert.equal(r.report.rejectedCount, 0, JSON.stringify(r.report.rejected));
    return r.places.map((p) => p.place);
  };
  const fromCsv = await read("c", CSV, "csv");
  assert.equal(fromCsv.length, 5);
  assert.deepEqual(fromCsv[1], {
    code: "north",
    name: "North, Upper",
    level: "region",
    parent: "ZZ",
    identifiers: [{ name: "ISO3166-2", identifier: "ZZ-NO" }],
  });
  assert.deepEqual(await read("[", JSON.stringify(ROWS, null, 1), "json"), fromCsv);
  assert.deepEqual(await read("{", ROWS.map((r) => JSON.stringify(r)).join("\n"), "ndjson"), fromCsv);
  // Another server's locations.json (ours, here) imports as it is served.
  const doc = locationsDocument({
    info: { version: 1, source: "x", updatedAt: "2026-01-01T00:00:00.000Z", places: 5 },
    places: fromCsv,
  });
  assert.deepEqual(await read("{", JSON.stringify(doc, null, 2), "ndjson"), fromCsv);
});

Deno.test("import-locations rows: an unknown field, a bad level or code, a long name are refused naming the field", () => {
  const errors = (raw: unknown) => {
    const r = readPlace(raw);
    return "errors" in r ? r.errors.join("; ") : "";
  };
  assert.match(
    errors({ code: "A", name: "A", level: "country", population: 5 }),
    /population: unknown field/,
  );
  assert.match(errors({ code: "A", name: "A", level: "village" }), /level: "village" is not one of/);
  assert.match(errors({ code: "a b", name: "A", level: "region" }), /code: 1 to 64/);
  assert.match(errors({ code: "A", name: "x".repeat(257), level: "region" }), /name: 1 to 256/);
  assert.match(errors({ code: "A", level: "region" }), /name: 1 to 256/);
  assert.match(errors({ code: "A", name: " \t ", level: "region" }), /name: 1 to 256/);
  // A name typed with a combining accent (NFD) is stored as records' names are, in NFC.
  const nfd = readPlace({ code: "A", name: "Sa\u0303o Jose\u0301", level: "region" });
  assert.ok("place" in nfd && nfd.place.name === "S\u00e3o Jos\u00e9");
  assert.match(errors({ code: "A", name: "A\u0007", level: "region" }), /name: 1 to 256 printable/);
  assert.match(
    errors({ "@type": "Place", id: "A", name: "A", additional_type: "crvs:HEALTH_FACILITY" }),
    /additional_type/,
  );
  assert.match(errors([1]), /expected an object/);
  // Level spellings clients use: case, a namespace prefix, a dash.
  const ok = readPlace({ code: "A", name: "A", level: "dci:Sub-Region" });
  assert.ok("place" in ok && ok.place.level === "sub_region");
});

Deno.test("import-locations hierarchy: duplicate codes, unknown or lower parents, and children of refused places", () => {
  const p = (line: number, code: string, level: string, parent: string | null) => {
    const r = readPlace({ code, name: code, level, parent_code: parent });
    assert.ok("place" in r);
    return { line, place: r.place };
  };
  const refused = checkHierarchy([
    p(2, "ZZ", "country", null),
    p(3, "r1", "region", "ZZ"),
    p(4, "r1", "region", "ZZ"),
    p(5, "l1", "locality", "nowhere"),
    p(6, "r2", "region", "l9"),
    p(7, "l9", "locality", "r1"),
    p(8, "s1", "sub_region", "l9"),
    p(9, "l2", "locality", "s1"),
    p(10, "c2", "country", "ZZ"),
  ]);
  assert.deepEqual(refused, [
    { line: 4, reason: 'code "r1" is already on line 3' },
    { line: 5, reason: 'parent_code "nowhere": no such place in the file' },
    { line: 6, reason: 'parent_code "l9": a locality cannot contain a region' },
    { line: 8, reason: 'parent_code "l9": a locality cannot contain a sub_region' },
    { line: 9, reason: 'parent_code "s1": that place (line 8) is refused' },
    { line: 10, reason: 'parent_code "ZZ": a country cannot contain a country' },
  ]);
});

Deno.test("dci-server registry import-locations: a good file replaces the hierarchy, a bad one changes nothing", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-locations-" });
  try {
    const env = { DCI_DATA_DIR: dir };
    await Deno.writeTextFile(`${dir}/places.csv`, CSV);
    const good = await runCliProcess(["registry", "import-locations", `${dir}/places.csv`], env);
    assert.equal(good.code, 0, good.stderr);
    assert.match(good.stdout, /read 5, registered 5, updated 0, rejected 0/);
    assert.match(
      good.stdout,
      /hierarchy version 1: 1 country, 1 region, 1 sub_region, 2 locality; 0 places removed/,
    );

    const bad = [
      "code,name,level,parent_code",
      "ZZ,Zedland,country,",
      "north,North,region,ZZ",
      "south,South,region,ZZ,extra",
      "west,West,province,ZZ",
      "lake,Lakeview,locality,nowhere",
      "town,Town,locality,west",
    ].join("\n");
    await Deno.writeTextFile(`${dir}/bad.csv`, bad);
    const refused = await runCliProcess(["registry", "import-locations", `${dir}/bad.csv`], env);
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /read 6, registered 0, updated 0, rejected 4/);
    assert.match(refused.stdout, /4\s+expected 4 cells, found 5/);
    assert.match(refused.stdout, /5\s+level: "province" is not one of/);
    assert.match(refused.stdout, /6\s+parent_code "nowhere": no such place in the file/);
    // Its parent row was refused on its own: said so, not that it is missing.
    assert.match(refused.stdout, /7\s+parent_code "west": that place \(line 5\) is refused/);
    assert.match(refused.stderr, /nothing imported.*the hierarchy is unchanged/);
    await withDataDirStorage(dir, async (storage) => {
      assert.deepEqual([
        (await storage.locations.info())?.version,
        (await storage.locations.load())?.places.length,
      ], [
        1,
        5,
      ]);
    });

    await Deno.writeTextFile(`${dir}/cols.csv`, "code,name,level,population\nZZ,Z,country,5\n");
    const cols = await runCliProcess(["registry", "import-locations", `${dir}/cols.csv`], env);
    assert.equal(cols.code, 1);
    assert.match(cols.stderr, /CSV column "population" is not a locations column/);

    // A JSON array replacing the hierarchy: codes kept, added and removed are counted.
    const next = [ROWS[0], ROWS[1], {
      code: "sea",
      name: "Seaside",
      level: "locality",
      parent_code: "north",
    }];
    await Deno.writeTextFile(`${dir}/next.json`, JSON.stringify(next));
    const replaced = await runCliProcess(["registry", "import-locations", `${dir}/next.json`], env);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.match(replaced.stdout, /read 3, registered 1, updated 2, rejected 0/);
    assert.match(replaced.stdout, /hierarchy version 2: .*; 3 places removed/);

    await withDataDirStorage(dir, async (storage) => {
      const h = (await storage.locations.load())!;
      assert.equal(h.info.source, "next.json");
      assert.deepEqual(h.places.map((p) => p.code), ["ZZ", "north", "sea"]);
      assert.deepEqual(locationsSpecErrors(200, locationsDocument(h)), []);
    });
    const missing = await runCliProcess(["registry", "import-locations", `${dir}/nope.csv`], env);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot open/);
    // A Windows-1252 export (é as one byte) is refused naming where, not imported as "S\uFFFDgou".
    await Deno.writeFile(
      `${dir}/latin1.csv`,
      new Uint8Array([
        ...new TextEncoder().encode("code,name,level,parent_code\nZZ,S"),
        0xe9,
        ...new TextEncoder().encode("gou,country,\n"),
      ]),
    );
    const latin1 = await runCliProcess(["registry", "import-locations", `${dir}/latin1.csv`], env);
    assert.equal(latin1.code, 1, latin1.stdout);
    assert.match(latin1.stderr, /UTF-8/);
    // A JSON array cut after a whole place is no whole file: nothing is replaced.
    await Deno.writeTextFile(`${dir}/cut.json`, JSON.stringify(next).replace(/\]$/, ""));
    const cut = await runCliProcess(["registry", "import-locations", `${dir}/cut.json`], env);
    assert.equal(cut.code, 1, cut.stdout);
    assert.match(cut.stderr, /ends before the array's closing/);
    await withDataDirStorage(
      dir,
      async (storage) => assert.equal((await storage.locations.info())?.version, 2),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("LocationStore.replace(ifNone): only where no hierarchy was ever loaded, decided in its own transaction", async () => {
  const deps = await testDeps();
  try {
    const now = new Date(deps.clock.now()).toISOString();
    const first = await deps.storage.locations.replace(demoPlaces(), { source: "demo", now, ifNone: true });
    assert.equal(first.skipped, undefined);
    const imported = [{
      code: "ZZ",
      name: "Imported",
      level: "country" as const,
      parent: null,
      identifiers: [],
    }];
    await deps.storage.locations.replace(imported, { source: "import.csv", now });
    const again = await deps.storage.locations.replace(demoPlaces(), { source: "demo", now, ifNone: true });
    assert.equal(again.skipped, true);
    const h = (await deps.storage.locations.load())!;
    assert.deepEqual([h.info.source, h.places.map((p) => p.name)], ["import.csv", ["Imported"]]);
  } finally {
    deps.close();
  }
});

Deno.test("readPlace(): a Place naming its parent in either spec field has it; two different parents are refused", () => {
  const place = (extra: Record<string, unknown>) =>
    readPlace({ "@type": "Place", id: "R1", name: "North", additional_type: "region", ...extra });
  const parentOf = (r: ReturnType<typeof readPlace>) => "place" in r ? r.place.parent : r.errors;
  assert.equal(parentOf(place({ contained_in_place: null, containedInPlace: "ZZ" })), "ZZ");
  assert.equal(parentOf(place({ contained_in_place: "ZZ", containedInPlace: "" })), "ZZ");
  assert.equal(parentOf(place({ contained_in_place: "ZZ", containedInPlace: "ZZ" })), "ZZ");
  assert.deepEqual(parentOf(place({ contained_in_place: "ZZ", containedInPlace: "YY" })), [
    "contained_in_place and containedInPlace name different parents",
  ]);
  assert.equal(parentOf(place({})), null);
});

Deno.test("LocationStore.replace() failing part-way leaves the previous hierarchy, served as before", async () => {
  const deps = await testDeps();
  try {
    const now = new Date(deps.clock.now()).toISOString();
    await deps.storage.locations.replace(demoPlaces(), { source: "demo", now });
    const before = await (await createApp(deps).request("/.well-known/locations.json")).text();
    // Rows that passed no check: the second "ZZ" breaks the primary key after the first rows were written.
    const broken = [...demoPlaces().slice(0, 3), demoPlaces()[0]];
    await assert.rejects(
      () => deps.storage.locations.replace(broken, { source: "broken.csv", now }),
      /UNIQUE|constraint/i,
    );
    const info = (await deps.storage.locations.info())!;
    assert.equal(info.version, 1);
    assert.equal(info.source, "demo");
    assert.equal((await deps.storage.locations.load())!.places.length, demoPlaces().length);
    // A parent missing from the rows breaks the (deferred) foreign key at commit: also nothing changes.
    const orphan = [{ code: "x", name: "X", level: "locality" as const, parent: "gone", identifiers: [] }];
    await assert.rejects(
      () => deps.storage.locations.replace(orphan, { source: "orphan.csv", now }),
      /FOREIGN KEY/i,
    );
    assert.equal((await deps.storage.locations.load())!.places.length, demoPlaces().length);
    assert.equal(await (await createApp(deps).request("/.well-known/locations.json")).text(), before);
  } finally {
    deps.close();
  }
});

// A SQLite schema upgrade on a SQLite handle of its own: SQLite's own.
Deno.test({
  name: "migration 0017 creates the locations tables on a data dir that has every earlier migration",
  ignore: TEST_BACKEND === "postgres",
}, () => {
  const db = openDatabase(":memory:");
  try {
    migrate(db);
    assert.equal(hierarchyInfo(db), undefined);
    assert.equal(loadHierarchy(db), undefined);
    const cols = (db.prepare("PRAGMA table_info(locations)").all() as Json[]).map((c) => c.name);
    assert.deepEqual(cols, ["code", "name", "level", "parent_code", "identifiers", "position"]);
  } finally {
    db.close();
  }
});

Deno.test("a running server seeds the demo hierarchy, then serves one the CLI imports beside it at once", async () => {
  const srv = await startServerProcess({ env: { DCI_SEED_DEMO: "true", DCI_DEMO_SIZE: "20" } });
  try {
    const get = async () => {
      const res = await fetch(`${srv.url}/.well-known/locations.json`);
      return { status: res.status, etag: res.headers.get("etag"), body: await res.json() as Json };
    };
    const demo = await get();
    assert.equal(demo.status, 200);
    assert.deepEqual(locationsSpecErrors(200, demo.body), []);
    assert.equal(demo.body.locations.length, demoPlaces().length);
    await Deno.writeTextFile(`${srv.dataDir}/places.csv`, CSV);
    const r = await runCliProcess(["registry", "import-locations", `${srv.dataDir}/places.csv`], {
      DCI_DATA_DIR: srv.dataDir,
    });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /read 5, registered 4, updated 1, rejected 0/, "ZZ was in the demo hierarchy too");
    const imported = await get();
    assert.notEqual(imported.etag, demo.etag);
    assert.deepEqual(imported.body.locations.map((p: Json) => p.id), [
      "ZZ",
      "north",
      "hills",
      "pine",
      "lake",
    ]);
    assert.deepEqual(locationsSpecErrors(200, imported.body), []);
  } finally {
    await srv.stop();
    await Deno.remove(srv.dataDir, { recursive: true });
  }
});
