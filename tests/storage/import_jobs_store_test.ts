/**
 * ImportJobStore (src/registry/imports/job_store.ts, pg_job_store.ts) on both backends, and an import job's
 * progress committed with each batch of a load (RegistryLoadStore `importJob`).
 */
import assert from "node:assert/strict";
import { backendTest } from "../helpers/storage.ts";
import { MAX_REJECTIONS_KEPT, type SourceRecord } from "../../src/registry/batch.ts";
import { allBatches } from "../../src/registry/load_store.ts";
import { ImportJobTaken } from "../../src/registry/imports/store.ts";

const NOW = "2026-03-01T10:00:00.000Z";
const job = (registry: string, spoolFile: string) => ({
  registry,
  format: "ndjson" as const,
  fileName: `${spoolFile}.ndjson`,
  bytes: 123,
  spoolFile,
});

backendTest("import jobs: create, read, page, open jobs, running, finished", async (s) => {
  const jobs = s.importJobs;
  const a = await jobs.create({ ...job("social", "a.upload"), actor: "tok-1" }, NOW);
  const b = await jobs.create(job("social", "b.upload"), NOW);
  const c = await jobs.create(job("crvs", "c.upload"), NOW);
  assert.ok(a < b && b < c);
  assert.deepEqual(await jobs.get(a), {
    id: a,
    registry: "social",
    format: "ndjson",
    fileName: "a.upload.ndjson",
    bytes: 123,
    spoolFile: "a.upload",
    state: "queued",
    error: null,
    read: 0,
    registered: 0,
    updated: 0,
    rejectedCount: 0,
    actor: "tok-1",
    createdAt: NOW,
    startedAt: null,
    finishedAt: null,
  });
  assert.equal(await jobs.get(a, "crvs"), undefined);
  assert.equal((await jobs.get(c, "crvs"))?.id, c);
  const first = await jobs.list("social", { limit: 1 });
  assert.deepEqual([first.items.map((j) => j.id), first.nextBefore], [[b], b]);
  const next = await jobs.list("social", { before: first.nextBefore!, limit: 1 });
  assert.deepEqual(next.items.map((j) => j.id), [a]);
  assert.equal(await jobs.markRunning(a, "2026-03-01T10:01:00.000Z"), true);
  assert.equal(await jobs.markRunning(a, "2026-03-01T10:02:00.000Z"), true);
  await jobs.finish(b, "2026-03-01T10:03:00.000Z", "x".repeat(2000));
  assert.deepEqual(await jobs.open(), [a, c]);
  const running = (await jobs.get(a))!;
  assert.deepEqual([running.state, running.startedAt], ["running", "2026-03-01T10:01:00.000Z"]);
  const failed = (await jobs.get(b))!;
  assert.deepEqual([failed.state, failed.error?.length], ["failed", 1000]);
  await jobs.finish(a, "2026-03-01T10:04:00.000Z");
  assert.deepEqual([(await jobs.get(a))!.state, (await jobs.get(a))!.error], ["done", null]);
  // A job ends once: another runner that meets it ended (its spool gone under it) changes nothing.
  await jobs.finish(a, "2026-03-01T10:05:00.000Z", "the uploaded file is gone from the spool");
  const ended = (await jobs.get(a))!;
  assert.deepEqual([ended.state, ended.error, ended.finishedAt], ["done", null, "2026-03-01T10:04:00.000Z"]);
  // Nor is it reopened by a runner that read it just before it ended.
  assert.equal(await jobs.markRunning(a, "2026-03-01T10:06:00.000Z"), false);
  assert.equal((await jobs.get(a))!.state, "done");
});

backendTest(
  "a load's progress commits with each batch: counts and the first rejections, in file order",
  async (s) => {
    const id = await s.importJobs.create(job("social", "p.upload"), NOW);
    const records: SourceRecord[] = [];
    for (let i = 1; i <= 2 * MAX_REJECTIONS_KEPT + 60; i++) {
      records.push(i % 2 ? { line: i, error: `line ${i}: bad` } : { line: i, raw: { id: `P-${i}` } });
    }
    const batches = allBatches(records, { now: () => NOW, batchSize: 400 });
    const report = await s.registryLoad.write(batches, { importJob: { id, read: 0 } });
    const stored = (await s.importJobs.get(id))!;
    assert.deepEqual(
      [stored.read, stored.registered, stored.updated, stored.rejectedCount],
      [report.read, report.registered, report.updated, report.rejectedCount],
    );
    assert.equal(stored.rejectedCount, MAX_REJECTIONS_KEPT + 30);
    const kept = await s.importJobs.rejects(id);
    assert.equal(kept.length, MAX_REJECTIONS_KEPT);
    assert.deepEqual(kept.slice(0, 2), [{ line: 1, reason: "line 1: bad" }, {
      line: 3,
      reason: "line 3: bad",
    }]);
  },
);

backendTest("a batch whose chunks stop coming is rolled back whole, its progress with it", async (s, sql) => {
  const id = await s.importJobs.create(job("social", "r.upload"), NOW);
  const records = (from: number) =>
    Array.from({ length: 5 }, (_, i) => ({ line: from + i, raw: { id: `R-${from + i}` } }));
  const chunks = async function* () {
    yield* allBatches(records(1), { now: () => NOW, batchSize: 5 });
    const [open] = await Array.fromAsync(allBatches(records(6), { now: () => NOW, batchSize: 5 }));
    yield { ...open, last: false }; // more chunks of its transaction would follow
    throw new Error("the reader failed");
  };
  await assert.rejects(
    () => s.registryLoad.write(chunks(), { importJob: { id, read: 0 } }),
    /the reader failed/,
  );
  const stored = (await s.importJobs.get(id))!;
  assert.deepEqual([stored.read, stored.registered], [5, 5]);
  assert.equal(Number((await sql("SELECT COUNT(*) AS n FROM registrants"))[0].n), 5);
  assert.equal(Number((await sql("SELECT COUNT(*) AS n FROM registry_events"))[0].n), 5);
});

backendTest(
  "two runners of one job: a batch from a position another runner committed past is undone whole, and that runner told",
  async (s, sql) => {
    const id = await s.importJobs.create(job("social", "t.upload"), NOW);
    // Five records from `from`, the first of them refused (a rejection row too).
    const records = (from: number): SourceRecord[] => [
      { line: from, error: `line ${from}: bad` },
      ...Array.from({ length: 4 }, (_, i) => ({ line: from + 1 + i, raw: { id: `T-${from + 1 + i}` } })),
    ];
    const batch = (from: number) => allBatches(records(from), { now: () => NOW, batchSize: 5 });
    const a = { id, read: 0 };
    await s.registryLoad.write(batch(1), { importJob: a });
    assert.equal(a.read, 5, "the runner's count moves on with its batch");
    // Another runner that took the job at read 0 (before a's batch committed) writes the same records again.
    const b = { id, read: 0 };
    await assert.rejects(() => s.registryLoad.write(batch(1), { importJob: b }), ImportJobTaken);
    assert.equal(b.read, 0);
    const counts = async () => {
      const j = (await s.importJobs.get(id))!;
      return [j.read, j.registered, j.rejectedCount, (await s.importJobs.rejects(id)).length];
    };
    assert.deepEqual(await counts(), [5, 4, 1, 1], "nothing of b's batch counted or kept");
    assert.equal(Number((await sql("SELECT COUNT(*) AS n FROM registry_events"))[0].n), 4);
    // The runner at the job's count goes on.
    await s.registryLoad.write(batch(6), { importJob: a });
    assert.deepEqual(await counts(), [10, 8, 2, 2]);
    assert.deepEqual((await s.importJobs.rejects(id)).map((r) => r.line), [1, 6]);
  },
);
