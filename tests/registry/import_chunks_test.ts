/**
 * An import batch arrives in chunks (PreparedBatch.last): the parse worker sends at most CHUNK_RECORDS records at
 * a time, the writer keeps one transaction open across a batch's chunks and commits at its last; a chunk SQLite
 * refuses is redone carefully alone, the earlier chunks of its batch (and their deferred value rows) kept.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { writePrepared } from "../../src/registry/batch.ts";
import { CHUNK_RECORDS, type PreparedBatch, prepareRecord } from "../../src/registry/prepared.ts";
import { workerBatches } from "../../src/registry/parse_pool.ts";
import { demoSource } from "../../src/registry/startup.ts";
import { valuePairs } from "../../src/registry/values.ts";
import { getRegistrant } from "../../src/registry/store.ts";
import type { Registrant } from "../../src/registry/model.ts";
import { crvsProfile } from "../../src/registries/crvs/mod.ts";
import type { Db } from "../../src/db/sqlite.ts";

const NOW = "2026-03-01T10:00:00.000Z";

/** Prepared crvs demo records (the partners' 4 test records, then `count` synthetic), lines from 1. */
function crvsPrepared(count: number) {
  return [...demoSource(crvsProfile, count, 9)].map((r, i) =>
    prepareRecord({ ...r, line: i + 1 }, NOW, crvsProfile)
  );
}

/** Asserts every stored record has exactly the value rows its data gives; returns how many rows. */
function assertOwnValues(db: Db): number {
  const stored = new Map<number, string[]>();
  for (
    const r of db.prepare("SELECT attr, value, registrant_id AS id FROM registrant_values").all() as Array<
      { attr: string; value: string | number; id: number }
    >
  ) {
    stored.set(r.id, [...stored.get(r.id) ?? [], `${r.attr}=${r.value}`]);
  }
  let total = 0;
  for (
    const row of db.prepare("SELECT id, data FROM registrant_data").all() as Array<
      { id: number; data: string }
    >
  ) {
    const pairs = valuePairs(JSON.parse(row.data) as Registrant);
    const want: string[] = [];
    for (let k = 0; k < pairs.length; k += 2) want.push(`${pairs[k]}=${pairs[k + 1]}`);
    assert.deepEqual((stored.get(row.id) ?? []).sort(), want.sort(), `registrant ${row.id}`);
    total += want.length;
  }
  return total;
}

const count = (db: Db) =>
  Number((db.prepare("SELECT COUNT(*) AS n FROM registrants").get() as { n: number }).n);

Deno.test("writePrepared() keeps one transaction open across a batch's chunks and commits at its last", async () => {
  const deps = await testDeps();
  try {
    const records = crvsPrepared(60);
    const seen: Array<[boolean, number]> = [];
    const chunks = async function* (): AsyncGenerator<PreparedBatch> {
      yield { now: NOW, records: records.slice(0, 20), last: false };
      seen.push([deps.db.isTransaction, count(deps.db)]);
      yield { now: NOW, records: records.slice(20, 40), last: true };
      seen.push([deps.db.isTransaction, count(deps.db)]);
      yield { now: NOW, records: records.slice(40), last: false };
      seen.push([deps.db.isTransaction, count(deps.db)]);
      // The reader ends without a last chunk: the open batch commits all the same.
    };
    const report = await writePrepared(deps.db, chunks(), { registry: "crvs" });
    assert.deepEqual(seen, [[true, 20], [false, 40], [true, records.length]]);
    assert.equal(deps.db.isTransaction, false);
    assert.deepEqual([report.read, report.registered, report.rejectedCount], [
      records.length,
      records.length,
      0,
    ]);
    assert.ok(assertOwnValues(deps.db) > records.length);
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
    await assert.rejects(() => writePrepared(deps.db, chunks(), { registry: "crvs" }), /cannot be read on/);
    assert.equal(deps.db.isTransaction, false);
    assert.equal(count(deps.db), 10);
    assertOwnValues(deps.db);
  } finally {
    deps.close();
  }
});

Deno.test("writePrepared(): a record SQLite refuses in a later chunk redoes that chunk alone; the batch's earlier values stay", async () => {
  const deps = await testDeps();
  try {
    const db = deps.db;
    // A refusal no check before the write foresees (as a constraint failure would be).
    db.exec(`CREATE TEMP TRIGGER refuse BEFORE INSERT ON registrants WHEN NEW.external_id = 'BAD'
      BEGIN SELECT RAISE(ABORT, 'constraint failed: refused for the test'); END`);
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
      ...records.slice(40),
    ];
    const chunks = async function* (): AsyncGenerator<PreparedBatch> {
      yield { now: NOW, records: first, last: false };
      yield { now: NOW, records: second, last: true };
    };
    const report = await writePrepared(db, chunks(), { registry: "crvs" });
    assert.deepEqual([report.read, report.registered, report.updated, report.rejectedCount], [
      first.length + second.length,
      records.length,
      1,
      1,
    ]);
    assert.equal(report.rejected[0].line, 99);
    assert.match(report.rejected[0].reason, /refused for the test/);
    assert.equal(count(db), records.length);
    assert.equal(getRegistrant(db, reg.externalId, "crvs")!.details?.marital_status, "D");
    assert.ok(assertOwnValues(db) > records.length);
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
    const report = await writePrepared(deps.db, chunks(), { registry: "crvs" });
    assert.deepEqual([report.registered, report.updated, report.rejectedCount], [records.length, 1, 0]);
    assert.equal(getRegistrant(deps.db, reg.externalId, "crvs")!.details?.marital_status, "D");
    assert.ok(assertOwnValues(deps.db) > records.length);
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
    const report = await writePrepared(deps.db, workerBatches(`${dir}/people.ndjson`, options), {});
    assert.deepEqual([report.registered, report.rejectedCount], [total, 0]);
    assert.equal(count(deps.db), total);
  } finally {
    deps.close();
    await Deno.remove(dir, { recursive: true });
  }
});
