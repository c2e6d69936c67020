/**
 * A bulk load (into an empty registry) appends its identifier, contact and value rows to stage tables and merges
 * them into their tables once, at its end (bulk.ts, mergeStaged; migration 0033). What it leaves must be exactly
 * what a plain load writes, with the same checks across batches (a duplicate identifier, an update of an earlier
 * record), and staged rows a crash left behind are merged at the next start.
 */
import assert from "node:assert/strict";
import { type TestDeps, testDeps } from "../helpers/deps.ts";
import { chunkOf, type PreparedBatch, prepareRecord } from "../../src/registry/prepared.ts";
import { demoSource } from "../../src/registry/startup.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { requireProfile } from "../../src/registries/index.ts";
import type { RegistryProfile } from "../../src/registries/profile.ts";
import { restoreIndexes } from "../../src/registry/bulk.ts";
import { writePrepared } from "../../src/registry/batch.ts";
import { KeyHashSet } from "../../src/registry/key_set.ts";
import { CHECKPOINTER_BATCH } from "../../src/registry/load_store.ts";
import { type Db, openDatabase, WAL_CHECKPOINT_PAGES } from "../../src/db/sqlite.ts";
import { startCheckpointer } from "../../src/db/checkpointer.ts";

const NOW = "2026-03-01T10:00:00.000Z";
const KEYED = [
  "SELECT id_value, id_type, registrant_id, live, registry FROM identifiers ORDER BY 1, 2, 3",
  "SELECT kind, value, registrant_id FROM registrant_contacts ORDER BY 1, 2, 3",
  "SELECT attr, value, registrant_id FROM registrant_values ORDER BY 1, 2, 3",
];
const STAGES = ["load_identifiers", "load_contacts", "load_values"];

type Raw = Record<string, unknown>;

/**
 * `raws` as batches of `size` records, each batch in chunks of at most 7 (lines from 1), with their keyed rows as
 * the parse worker makes them (`chunkOf`): in record order, as for a load that stages them (`unsorted`), or sorted.
 */
async function* batchesOf(
  raws: Raw[],
  profile: RegistryProfile,
  size: number,
  unsorted = false,
): AsyncGenerator<PreparedBatch> {
  for (let at = 0; at < raws.length; at += size) {
    const batch = raws.slice(at, at + size).map((raw, i) =>
      prepareRecord({ line: at + i + 1, raw }, NOW, profile)
    );
    for (let c = 0; c < batch.length; c += 7) {
      yield chunkOf(NOW, batch.slice(c, c + 7), c + 7 >= batch.length, !unsorted);
    }
  }
}

function sqlite(deps: TestDeps): Db {
  if (deps.backend !== "sqlite") throw new Error("SQLite's bulk load");
  return deps.db;
}

const rowsOf = (db: Db, sql: string) => db.prepare(sql).all().map((r) => Object.values(r));
const staged = (db: Db) =>
  STAGES.map((t) => Number((db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n));

/**
 * Loads `raws` into `profile`'s registry of a fresh database twice, by a bulk load and by plain batches, both of
 * `size` records; asserts the reports and every keyed table are the same; returns the bulk load's database
 * figures seen after its first batch (staged rows, identifier rows) and its report.
 */
async function loadBothWays(raws: Raw[], profile: RegistryProfile, size: number) {
  const bulk = await testDeps();
  const plain = await testDeps();
  try {
    const db = sqlite(bulk);
    let afterFirst: { staged: number[]; identifiers: number } | undefined;
    const watched = async function* () {
      let chunks = 0;
      for await (const c of batchesOf(raws, profile, size, true)) {
        yield c;
        if (c.last && chunks++ === 0) {
          // The next chunk is asked for once the first batch committed.
          afterFirst = {
            staged: staged(db),
            identifiers:
              rowsOf(db, "SELECT 1 FROM identifiers WHERE registry = '" + profile.name + "'").length,
          };
        }
      }
    };
    assert.equal(await bulk.storage.registryLoad.stagesKeyedRows(profile.name), true, "empty: staged");
    const report = await bulk.storage.registryLoad.bulkLoad(watched(), {
      registry: profile.name,
      batchSize: size,
    });
    const plainReport = await plain.storage.registryLoad.write(batchesOf(raws, profile, size), {
      registry: profile.name,
    });
    assert.deepEqual(report, plainReport);
    assert.equal(await bulk.storage.registryLoad.stagesKeyedRows(profile.name), false, "not empty");
    assert.deepEqual(staged(db), [0, 0, 0], "every staged row merged");
    for (const sql of KEYED) assert.deepEqual(rowsOf(db, sql), rowsOf(sqlite(plain), sql), sql);
    assert.equal(db.prepare("PRAGMA foreign_key_check").all().length, 0);
    assert.deepEqual(rowsOf(db, "PRAGMA integrity_check"), [["ok"]]);
    return { afterFirst: afterFirst!, report };
  } finally {
    bulk.close();
    plain.close();
  }
}

Deno.test({
  name:
    "a bulk load stages its keyed rows by batch and merges them at its end: the same rows as a plain load",
  fn: async () => {
    const social = [...demoSource(requireProfile("social"), 300, 4)].map((s) => s.raw as Raw);
    const s = await loadBothWays(social, requireProfile("social"), 100);
    assert.equal(s.report.rejectedCount, 0);
    // After the first batch, its identifier and contact rows were staged, not in their tables.
    assert.ok(s.afterFirst.staged[0] > 100 && s.afterFirst.staged[1] > 0, JSON.stringify(s.afterFirst));
    assert.equal(s.afterFirst.identifiers, 0);
    const crvs = [...demoSource(crvsProfile, 200, 9)].map((s) => s.raw as Raw);
    const c = await loadBothWays(crvs, crvsProfile, 60);
    assert.equal(c.report.rejectedCount, 0);
    assert.ok(c.afterFirst.staged[2] > 60, "crvs value rows staged");
  },
});

Deno.test({
  name:
    "a bulk load checks identifiers against its staged rows: a later batch's duplicate is refused, an update replaces the rows",
  fn: async () => {
    const demo = [...demoSource(crvsProfile, 130, 9)].map((s) => s.raw as Raw);
    const raws = demo.slice(0, 120);
    const first = raws[10], second = raws[20];
    // Batch 3: record 21 again with another identifier (an update through the checked path, in a chunk of new
    // records: its old identifier row, staged, must go), new records, then a new record with record 11's
    // identifier (refused) and one with record 21's old identifier (free again after the update).
    raws.push(
      { ...second, identifier: [{ identifier_type: "UIN", identifier_value: "U-CHANGED-21" }] },
      ...demo.slice(120),
      { ...first, id: "CRVS-DUP-1" },
      { ...second, id: "CRVS-TAKES-OLD" },
    );
    const { report } = await loadBothWays(raws, crvsProfile, 50);
    assert.equal(report.rejectedCount, 1);
    assert.match(report.rejected[0].reason, /identifier/i);
    assert.equal(report.updated, 1);
  },
});

Deno.test({
  name:
    "a plain load given keyed rows in record order (its reader was told the load would stage) writes the same rows",
  fn: async () => {
    const raws = [...demoSource(requireProfile("social"), 200, 5)].map((s) => s.raw as Raw);
    const sorted = await testDeps();
    const unsorted = await testDeps();
    try {
      for (const [deps, flag] of [[sorted, false], [unsorted, true]] as const) {
        const report = await deps.storage.registryLoad.write(
          batchesOf(raws, requireProfile("social"), 80, flag),
          {},
        );
        assert.equal(report.rejectedCount, 0);
      }
      for (const sql of KEYED) {
        assert.deepEqual(rowsOf(sqlite(unsorted), sql), rowsOf(sqlite(sorted), sql), sql);
      }
      assert.ok(rowsOf(sqlite(sorted), KEYED[0]).length > 200);
    } finally {
      sorted.close();
      unsorted.close();
    }
  },
});

Deno.test({
  name:
    "a bulk load into a file checkpoints each batch on the checkpointer's thread; the writer's own checkpoints are back after it",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "dci-bulk-ckpt-" });
    const deps = await testDeps({ dataDir: dir });
    try {
      const db = sqlite(deps);
      const path = db.location()!;
      const pages = () => (db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number });
      const before = pages().wal_autocheckpoint;
      assert.ok(before > 0);
      const sizeAtStart = Deno.statSync(path).size;
      // Two batches of CHECKPOINTER_BATCH records (28,000 persons make ~40,000 records with their households).
      const raws = [...demoSource(requireProfile("social"), 28_000, 2)].map((s) => s.raw as Raw).slice(
        0,
        2 * CHECKPOINTER_BATCH,
      );
      let during: { autocheckpoint: number; grown: boolean } | undefined;
      const watched = async function* () {
        let batches = 0;
        for await (const c of batchesOf(raws, requireProfile("social"), CHECKPOINTER_BATCH)) {
          yield c;
          if (c.last && batches++ === 0) {
            // The first batch committed: only the checkpointer copies its pages into the file meanwhile.
            const autocheckpoint = pages().wal_autocheckpoint;
            let grown = false;
            for (let i = 0; i < 250 && !grown; i++) {
              grown = Deno.statSync(path).size > sizeAtStart + 1_000_000;
              if (!grown) await new Promise((r) => setTimeout(r, 20));
            }
            during = { autocheckpoint, grown };
          }
        }
      };
      const report = await deps.storage.registryLoad.bulkLoad(watched(), {
        registry: "social",
        batchSize: CHECKPOINTER_BATCH,
      });
      assert.equal(report.rejectedCount, 0);
      assert.deepEqual(during, { autocheckpoint: 0, grown: true });
      assert.equal(pages().wal_autocheckpoint, before);
      assert.equal(
        (db.prepare("SELECT count(*) AS n FROM registrants").get() as { n: number }).n,
        report.registered,
      );
      assert.deepEqual(rowsOf(db, "PRAGMA integrity_check"), [["ok"]]);
    } finally {
      deps.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name:
    "the checkpointer's drain lets the WAL start again: ten 1 MB commits, each drained, leave it ~1 MB long",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "dci-ckpt-drain-" });
    const db = openDatabase(`${dir}/t.sqlite`);
    try {
      db.exec("CREATE TABLE t (v BLOB)");
      const checkpointer = startCheckpointer(db)!;
      assert.equal(
        (db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint,
        0,
      );
      const insert = db.prepare("INSERT INTO t (v) VALUES (randomblob(1000))");
      for (let round = 0; round < 10; round++) {
        db.exec("BEGIN IMMEDIATE");
        for (let i = 0; i < 1000; i++) insert.run();
        db.exec("COMMIT");
        await checkpointer.drain();
      }
      const wal = Deno.statSync(`${dir}/t.sqlite-wal`).size;
      await checkpointer.close();
      assert.ok(wal < 3_000_000, `WAL ${wal} bytes after ten 1 MB commits`);
      // Everything was copied into the file: ~10 MB there.
      assert.ok(Deno.statSync(`${dir}/t.sqlite`).size > 10_000_000);
      assert.equal(
        (db.prepare("PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint,
        WAL_CHECKPOINT_PAGES,
      );
    } finally {
      db.close();
      await Deno.remove(dir, { recursive: true }).catch(() => {});
    }
  },
});

Deno.test({
  name: "staged rows a crashed bulk load committed are merged by restoreIndexes (at the next start)",
  fn: async () => {
    const deps = await testDeps();
    try {
      const db = sqlite(deps);
      const raws = [...demoSource(requireProfile("social"), 80, 2)].map((s) => s.raw as Raw);
      // Batches committed with their staged rows, the load's end never reached (as after a SIGKILL).
      const report = await writePrepared(db, batchesOf(raws, requireProfile("social"), 40), { stage: true });
      assert.equal(report.rejectedCount, 0);
      const before = staged(db);
      assert.ok(before[0] > 80 && before[1] > 0, JSON.stringify(before));
      assert.equal(rowsOf(db, "SELECT 1 FROM identifiers WHERE registry = 'social'").length, 0);
      restoreIndexes(db);
      assert.deepEqual(staged(db), [0, 0, 0]);
      assert.equal(rowsOf(db, "SELECT 1 FROM identifiers WHERE registry = 'social'").length, before[0]);
      assert.ok(rowsOf(db, "SELECT 1 FROM registrant_contacts").length > 0);
    } finally {
      deps.close();
    }
  },
});

Deno.test("KeyHashSet: a key added is there, a key not added is not, across growth", () => {
  const set = new KeyHashSet();
  const n = 300_000;
  for (let i = 0; i < n; i++) assert.equal(set.add("UIN", `U-${i}`), true);
  assert.equal(set.size, n);
  for (let i = 0; i < n; i += 997) assert.equal(set.add("UIN", `U-${i}`), false, `U-${i}`);
  // The type is part of the key, and the NUL between: ("UI", "NU-1") is another key than ("UIN", "U-1").
  assert.equal(set.add("BRN", "U-1"), true);
  assert.equal(set.add("UI", "NU-1"), true);
  let fresh = 0;
  for (let i = n; i < 2 * n; i++) if (set.add("UIN", `U-${i}`)) fresh++;
  assert.equal(fresh, n);
});

Deno.test("registry writes wait while a bulk load's rows are staged (a load cut short), then go on once merged", async () => {
  const deps = await testDeps();
  try {
    const db = (deps as unknown as { db: Db }).db;
    const { readRegistrant } = await import("../../src/registry/model.ts");
    const { saveRegistrant, deleteRegistrant } = await import("../../src/registry/store.ts");
    const now = new Date(deps.clock.now()).toISOString();
    const person = (id: string, uin: string) =>
      readRegistrant({ id, identifiers: [{ type: "UIN", value: uin }], name: { surname: "S" } }, now);
    saveRegistrant(db, person("p1", "U-1"), { mode: "upsert", now });
    // A first load's batch committed its registrant and staged its identifier, then the load was killed.
    db.prepare(
      "INSERT INTO load_identifiers (id_value, id_type, registrant_id, registry) VALUES (?, ?, ?, ?)",
    )
      .run("U-2", "UIN", 1, "social");
    for (
      const write of [
        () => saveRegistrant(db, person("p2", "U-2"), { mode: "upsert", now }),
        () => deleteRegistrant(db, "p1", { now }),
      ]
    ) {
      assert.throws(write, (err: unknown) => {
        assert.equal((err as { status?: number }).status, 503);
        assert.match((err as Error).message, /bulk registry load is in progress or was cut short/);
        return true;
      });
    }
    restoreIndexes(db); // what the next start does: merges the staged rows
    assert.throws(
      () => saveRegistrant(db, person("p2", "U-2"), { mode: "upsert", now }),
      /U-2|already|identifier/,
      "the staged identifier is taken once merged",
    );
    saveRegistrant(db, person("p3", "U-3"), { mode: "upsert", now });
  } finally {
    deps.close();
  }
});
