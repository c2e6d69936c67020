/**
 * An import batch arrives in chunks (PreparedBatch.last): the parse worker sends at most CHUNK_RECORDS records at
 * a time, the writer keeps one transaction open across a batch's chunks and commits at its last; a chunk SQLite
 * refuses is redone carefully alone, the earlier chunks of its batch (and their deferred value rows) kept.
 */
import assert from "node:assert/strict";
import { TEST_BACKEND, type TestDeps, testDeps } from "../helpers/deps.ts";
import { CHUNK_RECORDS, type PreparedBatch, prepareRecord } from "../../src/registry/prepared.ts";
import { workerBatches } from "../../src/registry/parse_pool.ts";
import { demoSource } from "../../src/registry/startup.ts";
import { valuePairs } from "../../src/registry/values.ts";
import type { Registrant } from "../../src/registry/model.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import { bulkCacheMb, type LoadOptions } from "../../src/registry/load_store.ts";
import { restoreIndexes } from "../../src/registry/bulk.ts";

const NOW = "2026-03-01T10:00:00.000Z";

/** Prepared crvs demo records (the partners' 4 test records, then `count` synthetic), lines from 1. */
function crvsPrepared(count: number) {
  return [...demoSource(crvsProfile, count, 9)].map((r, i) =>
    prepareRecord({ ...r, line: i + 1 }, NOW, crvsProfile)
  );
}

/**
 * Asserts every stored record has exactly the rows of `query` (its `id` column the record's, `key` naming a row)
 * that `want` gives from its data, and no row belongs to a record not stored; returns how many records and rows.
 */
async function assertOwnRows(
  deps: TestDeps,
  query: string,
  key: (row: Record<string, unknown>) => string,
  want: (reg: Registrant) => string[],
): Promise<{ records: number; rows: number }> {
  const stored = new Map<number, string[]>();
  for (const r of await deps.sql(query)) {
    stored.set(Number(r.id), [...stored.get(Number(r.id)) ?? [], key(r)]);
  }
  let total = 0;
  const records = await deps.sql("SELECT id, data FROM registrant_data");
  for (const row of records) {
    const keys = want(JSON.parse(String(row.data)) as Registrant);
    assert.deepEqual((stored.get(Number(row.id)) ?? []).sort(), keys.sort(), `registrant ${row.id}`);
    stored.delete(Number(row.id));
    total += keys.length;
  }
  assert.deepEqual([...stored.keys()], [], "rows of no stored record");
  return { records: records.length, rows: total };
}

/** Every stored record's value rows are exactly those its data gives; returns how many rows. */
const assertOwnValues = async (deps: TestDeps) =>
  (await assertOwnRows(
    deps,
    // PostgreSQL: the value is jsonb (a number or a string, as SQLite's typed value) and the id a bigint.
    "SELECT attr, value, registrant_id AS id FROM registrant_values",
    (r) => `${r.attr}=${r.value}`,
    (reg) => {
      const pairs = valuePairs(reg);
      const keys: string[] = [];
      for (let k = 0; k < pairs.length; k += 2) keys.push(`${pairs[k]}=${pairs[k + 1]}`);
      return keys;
    },
  )).rows;

/**
 * Every stored record's live identifier rows are exactly those its data gives (a batch's identifier rows go in at
 * its end, see PendingInserts.deferred); returns how many records.
 */
const assertOwnIdentifiers = async (deps: TestDeps) =>
  (await assertOwnRows(
    deps,
    "SELECT id_type, id_value, registrant_id AS id FROM identifiers WHERE live = 1",
    (r) => `${r.id_type}=${r.id_value}`,
    (reg) => reg.identifiers.map((i) => `${i.type}=${i.value}`),
  )).records;

const count = async (deps: TestDeps) =>
  Number((await deps.sql("SELECT COUNT(*) AS n FROM registrants"))[0].n);

/** The load's batched write (writePrepared on SQLite), on the test's backend. */
const writePrepared = (deps: TestDeps, batches: AsyncIterable<PreparedBatch>, options: LoadOptions) =>
  deps.storage.registryLoad.write(batches, options);

/**
 * Whether a write transaction is left open: the SQLite handle's, or on PostgreSQL a session of the test's
 * database idle in a transaction.
 */
async function inTransaction(deps: TestDeps): Promise<boolean> {
  if (deps.backend === "sqlite") return deps.db.isTransaction;
  const [row] = await deps.sql(
    "SELECT COUNT(*) AS n FROM pg_stat_activity WHERE datname = current_database() AND state LIKE 'idle in transaction%'",
  );
  return Number(row.n) > 0;
}

Deno.test("writePrepared() keeps one transaction open across a batch's chunks and commits at its last", async () => {
  const deps = await testDeps();
  try {
    const records = crvsPrepared(60);
    const seen: Array<[boolean, number]> = [];
    const chunks = async function* (): AsyncGenerator<PreparedBatch> {
      yield { now: NOW, records: records.slice(0, 20), last: false };
      seen.push([await inTransaction(deps), await count(deps)]);
      yield { now: NOW, records: records.slice(20, 40), last: true };
      seen.push([await inTransaction(deps), await count(deps)]);
      yield { now: NOW, records: records.slice(40), last: false };
      seen.push([await inTransaction(deps), await count(deps)]);
      // The reader ends without a last chunk: the open batch commits all the same.
    };
    const report = await writePrepared(deps, chunks(), { registry: "crvs" });
    // SQLite counts on the writing connection (its open transaction's rows too); PostgreSQL on another one,
    // which sees only what the batch committed.
    assert.deepEqual(
      seen,
      deps.backend === "sqlite"
        ? [[true, 20], [false, 40], [true, records.length]]
        : [[true, 0], [false, 40], [
          true,
          40,
        ]],
    );
    assert.equal(await inTransaction(deps), false);
    assert.deepEqual([report.read, report.registered, report.rejectedCount], [
      records.length,
      records.length,
      0,
    ]);
    assert.ok(await assertOwnValues(deps) > records.length);
  } finally {
    deps.close();
  }
});

Deno.test("writePrepared() rolls back a batch whose reader fails between its chunks; earlier batches stay", async () => {
  const deps = await testDeps();
  try {
    const records = crvsPrepared(40);
    const chunks = async function* (): AsyncGenerator<PreparedBatch> {
      yield { now: NOW, records: records.slice(0, 10), last: true };
      yield { now: NOW, records: records.slice(10, 30), last: false };
      throw new Error("the file cannot be read on");
    };
    await assert.rejects(() => writePrepared(deps, chunks(), { registry: "crvs" }), /cannot be read on/);
    assert.equal(await inTransaction(deps), false);
    assert.equal(await count(deps), 10);
    await assertOwnValues(deps);
  } finally {
    deps.close();
  }
});

Deno.test("writePrepared(): a record the database refuses in a later chunk (a constraint, a data exception, a trigger) redoes that chunk alone; the batch's earlier values and identifiers stay", async () => {
  const deps = await testDeps();
  try {
    // A refusal no check before the write foresees (as a constraint failure would be).
    if (deps.backend === "sqlite") {
      deps.db.exec(`CREATE TEMP TRIGGER refuse BEFORE INSERT ON registrants
        WHEN NEW.external_id IN ('BAD', 'BAD-DATA', 'BAD-CHECK')
        BEGIN SELECT RAISE(ABORT, 'refused for the test'); END`);
    } else {
      // What an operator's trigger raises (P0001), a data exception (class 22) and a constraint (class 23).
      await deps.sql(`CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
        IF NEW.external_id = 'BAD' THEN RAISE EXCEPTION 'refused for the test'; END IF;
        IF NEW.external_id = 'BAD-DATA' THEN
          RAISE EXCEPTION USING ERRCODE = 'numeric_value_out_of_range', MESSAGE = 'refused for the test: data';
        END IF;
        IF NEW.external_id = 'BAD-CHECK' THEN
          RAISE EXCEPTION USING ERRCODE = 'check_violation', MESSAGE = 'refused for the test: check';
        END IF;
        RETURN NEW; END $$`);
      await deps.sql(
        "CREATE TRIGGER refuse BEFORE INSERT ON registrants FOR EACH ROW EXECUTE FUNCTION refuse()",
      );
    }
    const records = crvsPrepared(50);
    const first = records.slice(0, 30);
    const updated = structuredClone(records[5]);
    const reg = JSON.parse(updated.json!) as Registrant;
    const bad = prepareRecord(
      {
        line: 99,
        raw: { id: "BAD", name: { given_name: "Bad" }, details: { marital_status: "S" } },
      },
      NOW,
      crvsProfile,
    );
    assert.equal(bad.error, undefined);
    const refused = (line: number, id: string) =>
      prepareRecord(
        { line, raw: { id, name: { given_name: "Bad" }, details: { marital_status: "S" } } },
        NOW,
        crvsProfile,
      );
    const second = [
      records[30],
      // An update of a record of the first chunk: its values are written, with the first chunk's, mid-chunk.
      prepareRecord(
        { line: 6, raw: { ...rawOf(reg), details: { ...reg.details, marital_status: "D" } } },
        NOW,
        crvsProfile,
      ),
      ...records.slice(31, 40),
      bad,
      refused(100, "BAD-DATA"),
      ...records.slice(40, 45),
      refused(101, "BAD-CHECK"),
      ...records.slice(45),
    ];
    const chunks = async function* (): AsyncGenerator<PreparedBatch> {
      yield { now: NOW, records: first, last: false };
      yield { now: NOW, records: second, last: true };
    };
    const report = await writePrepared(deps, chunks(), { registry: "crvs" });
    assert.deepEqual([report.read, report.registered, report.updated, report.rejectedCount], [
      first.length + second.length,
      records.length,
      1,
      3,
    ]);
    assert.deepEqual(report.rejected.map((r) => r.line), [99, 100, 101]);
    for (const r of report.rejected) assert.match(r.reason, /refused for the test/);
    assert.equal(await count(deps), records.length);
    assert.equal((await deps.storage.registry.get(reg.externalId, "crvs"))!.details?.marital_status, "D");
    assert.ok(await assertOwnValues(deps) > records.length);
    assert.equal(await assertOwnIdentifiers(deps), records.length);
  } finally {
    deps.close();
  }
});

Deno.test("writePrepared(): a chunk mixing new records and an update of one of them keeps each record's own values", async () => {
  const deps = await testDeps();
  try {
    const records = crvsPrepared(40);
    const reg = JSON.parse(records[3].json!) as Registrant;
    const update = prepareRecord(
      {
        line: 4,
        raw: { ...rawOf(reg), details: { ...reg.details, marital_status: "D" } },
      },
      NOW,
      crvsProfile,
    );
    const chunks = async function* (): AsyncGenerator<PreparedBatch> {
      // Records 0-9 are buffered; the update of record 3 writes them (values too) before it, mid-chunk.
      yield { now: NOW, records: [...records.slice(0, 10), update, ...records.slice(10, 25)], last: false };
      yield { now: NOW, records: [...records.slice(25)], last: true };
    };
    const report = await writePrepared(deps, chunks(), { registry: "crvs" });
    assert.deepEqual([report.registered, report.updated, report.rejectedCount], [records.length, 1, 0]);
    assert.equal((await deps.storage.registry.get(reg.externalId, "crvs"))!.details?.marital_status, "D");
    assert.ok(await assertOwnValues(deps) > records.length);
  } finally {
    deps.close();
  }
});

/** The input shape of a stored crvs registrant (enough of it to re-import). */
function rawOf(reg: Registrant): Record<string, unknown> {
  return {
    id: reg.externalId,
    identifier: reg.identifiers.map((i) => ({ identifier_type: i.type, identifier_value: i.value })),
    name: reg.name,
    sex: reg.sex,
    birth_date: reg.birthDate,
    death_date: reg.deathDate,
  };
}

Deno.test("writePrepared(): an identifier an earlier chunk of the batch took (its rows not yet written) sends the later record to the checked path", async () => {
  const deps = await testDeps();
  try {
    const sources = [...demoSource(crvsProfile, 30, 9)].map((r, i) => ({ ...r, line: i + 1 }));
    const raw = (i: number) => sources[i].raw as { identifier: unknown };
    // Line 29 (the third chunk) claims line 8's identifier (the first chunk's): SQLite does not hold line 8's
    // identifier row yet (a batch's identifier rows go in at its end, in key order).
    raw(28).identifier = raw(7).identifier;
    const records = sources.map((r) => prepareRecord(r, NOW, crvsProfile));
    const chunks = async function* (): AsyncGenerator<PreparedBatch> {
      yield { now: NOW, records: records.slice(0, 10), last: false };
      yield { now: NOW, records: records.slice(10, 20), last: false };
      yield { now: NOW, records: records.slice(20), last: true };
    };
    const report = await writePrepared(deps, chunks(), { registry: "crvs" });
    assert.deepEqual([report.read, report.registered, report.rejectedCount], [
      records.length,
      records.length - 1,
      1,
    ]);
    assert.equal(report.rejected[0].line, 29);
    assert.match(report.rejected[0].reason, /belongs to another registrant/);
    assert.equal(await assertOwnIdentifiers(deps), records.length - 1);
    assert.equal(await inTransaction(deps), false);
  } finally {
    deps.close();
  }
});

Deno.test("workerBatches() sends a batch as chunks of at most CHUNK_RECORDS, sharing the batch's time", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-chunks-" });
  const deps = await testDeps();
  try {
    const total = CHUNK_RECORDS * 2 + 2000;
    const lines: string[] = [];
    for (let i = 0; i < total; i++) {
      lines.push(JSON.stringify({ id: `P${i}`, name: { given_name: `P${i}` } }));
    }
    await Deno.writeTextFile(`${dir}/people.ndjson`, lines.join("\n") + "\n");
    let tick = 0;
    const batchSize = CHUNK_RECORDS + 2000;
    const options = {
      format: "ndjson" as const,
      batchSize,
      now: () => new Date(Date.parse(NOW) + 1000 * tick++).toISOString(),
    };
    const seen: Array<[number, boolean | undefined, string]> = [];
    for await (const c of workerBatches(`${dir}/people.ndjson`, options)) {
      seen.push([c.records.length, c.last, c.now]);
    }
    // 7,000 (5,000 + 2,000), then 5,000 of the next batch before the file ends.
    assert.deepEqual(seen.map(([n, last]) => [n, last]), [[CHUNK_RECORDS, false], [2000, true], [
      CHUNK_RECORDS,
      false,
    ]]);
    const [a, b, c] = seen.map(([, , now]) => Date.parse(now));
    assert.ok(a === b && c > b, "a batch's chunks share its import time; the next batch has a later one");
    tick = 0;
    const report = await writePrepared(deps, workerBatches(`${dir}/people.ndjson`, options), {});
    assert.deepEqual([report.registered, report.rejectedCount], [total, 0]);
    assert.equal(await count(deps), total);
  } finally {
    deps.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name:
    "a bulk load writes its chunks without savepoints: a chunk SQLite refuses stops it, its batch rolled back",
  ignore: TEST_BACKEND === "postgres",
  fn: async () => {
    const deps = await testDeps();
    try {
      if (deps.backend !== "sqlite") throw new Error("SQLite's bulk load");
      const db = deps.db;
      db.exec(`CREATE TEMP TRIGGER refuse BEFORE INSERT ON registrants WHEN NEW.external_id = 'BAD'
        BEGIN SELECT RAISE(ABORT, 'constraint failed: refused for the test'); END`);
      const cacheSize = () => (db.prepare("PRAGMA cache_size").get() as { cache_size: number }).cache_size;
      const before = cacheSize();
      const records = crvsPrepared(40);
      const bad = prepareRecord(
        { line: 99, raw: { id: "BAD", name: { given_name: "Bad" }, details: { marital_status: "S" } } },
        NOW,
        crvsProfile,
      );
      const during: number[] = [];
      const chunks = async function* (): AsyncGenerator<PreparedBatch> {
        yield { now: NOW, records: records.slice(0, 20), last: true };
        during.push(cacheSize());
        // A deferred statement that records the page cache the rebuild runs with.
        db.exec(`INSERT INTO registry_deferred_indexes (name, sql)
          VALUES ('reg_r_crvs_probe', 'CREATE TABLE probe AS SELECT * FROM pragma_cache_size')`);
        yield { now: NOW, records: records.slice(20, 30), last: false };
        yield { now: NOW, records: [...records.slice(30), bad], last: true };
      };
      await assert.rejects(
        () => deps.storage.registryLoad.bulkLoad(chunks(), { registry: "crvs", batchSize: 500_000 }),
        (err: Error) => {
          assert.equal(err.name, "BatchRefused");
          assert.match(err.message, /lines 31-99 \(constraint failed: refused for the test\)/);
          return true;
        },
      );
      // The first batch is kept; the second (its first chunk written without a savepoint) is rolled back whole.
      assert.equal(db.isTransaction, false);
      assert.equal(await count(deps), 20);
      await assertOwnValues(deps);
      // The deferred indexes are back, and the page cache: 4 KB a record of the batch while it ran.
      assert.equal((await deps.sql("SELECT name FROM registry_deferred_indexes")).length, 0);
      assert.ok(
        (await deps.sql("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'reg_r_crvs_%'"))
          .length > 3,
      );
      assert.deepEqual(during, [-bulkCacheMb(500_000) * 1000]);
      // The rebuild had the connection's own cache again (the sorter's runs are the cache's size).
      assert.deepEqual((await deps.sql("SELECT cache_size FROM probe")).map((r) => r.cache_size), [before]);
      assert.equal(bulkCacheMb(500_000), 2000);
      assert.equal(cacheSize(), before);
    } finally {
      deps.close();
    }
  },
});

Deno.test({
  name:
    "restoreIndexes() builds with the sorter's runs in files and gives the connection its settings back, failed or not",
  ignore: TEST_BACKEND === "postgres",
  fn: async () => {
    const deps = await testDeps();
    try {
      if (deps.backend !== "sqlite") throw new Error("SQLite's index rebuild");
      const db = deps.db;
      const settings = () =>
        ["temp_store", "threads", "cache_size"].map((p) =>
          Object.values(db.prepare(`PRAGMA ${p}`).get() as Record<string, number>)[0]
        );
      const before = settings();
      assert.deepEqual(before.slice(0, 2), [2, 0], "temporary tables in memory, no sorter thread");
      // A deferred statement that records the settings the build runs with (temp_store 1 = FILE).
      db.exec(`INSERT INTO registry_deferred_indexes (name, sql) VALUES
        ('reg_p_test', 'CREATE INDEX reg_p_test ON registrants (locality, region)'),
        ('reg_p_probe', 'CREATE TABLE probe AS SELECT * FROM pragma_temp_store, pragma_threads, pragma_cache_size')`);
      assert.equal(restoreIndexes(db), 2);
      assert.deepEqual(
        { ...(await deps.sql("SELECT * FROM probe"))[0] },
        { temp_store: 1, threads: 2, cache_size: before[2] },
      );
      assert.deepEqual(settings(), before);
      assert.ok(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'reg_p_test'").get());
      // A build SQLite refuses leaves its row for the next start, and the settings as they were.
      db.exec(
        "INSERT INTO registry_deferred_indexes (name, sql) VALUES ('reg_p_bad', 'CREATE INDEX reg_p_bad ON nowhere (x)')",
      );
      assert.throws(() => restoreIndexes(db), /no such table/);
      assert.deepEqual(settings(), before);
      assert.deepEqual((await deps.sql("SELECT name FROM registry_deferred_indexes")).map((r) => r.name), [
        "reg_p_bad",
      ]);
    } finally {
      deps.close();
    }
  },
});
