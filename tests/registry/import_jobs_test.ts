/**
 * Registry imports through the admin API (POST /admin/v1/registries/{registry}/imports): the upload is spooled,
 * the worker imports it in batches with the CLI import's parsing and checks, the job shows its counts and the
 * rejected rows by line; an over-size upload is refused with 413; a stopped or killed import resumes where its
 * last batch committed; a viewer may read jobs but not start one; the import is audited.
 */
import assert from "node:assert/strict";
import { TEST_BACKEND, type TestDeps, testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { IMPORT_SPOOL_GRACE_MS, startImportRunner } from "../../src/registry/imports/runner.ts";
import { spoolDir } from "../../src/registry/imports/spool.ts";
import { setBusyTimeout } from "../../src/db/sqlite.ts";
import type { Logger } from "../../src/obs/log.ts";
import { DatabaseSync } from "node:sqlite";

type Json = Record<string, unknown>;

const CSV = "id,given_name,surname,sex,birth_date,id.UIN\n" +
  "IMP-1,Ana,Banda,female,1990-01-02,UIN-IMP-1\n" +
  "IMP-2,Ben,Phiri,male,not-a-date,UIN-IMP-2\n" +
  "IMP-3,Cleo,Mwale,female,1985-07-30,UIN-IMP-3\n";

async function setup(overrides: Record<string, string> = {}) {
  const deps = await testDeps(overrides);
  const app = createApp(deps);
  const admin = await deps.storage.adminTokens.create({ role: "admin", name: "ops" });
  const viewer = await deps.storage.adminTokens.create({ role: "viewer", name: "watcher" });
  const call = async (
    method: string,
    path: string,
    init: { body?: BodyInit; type?: string; token?: string } = {},
  ) => {
    const res = await app.request(`/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${init.token ?? admin.token}`,
        ...(init.type ? { "content-type": init.type } : {}),
      },
      body: init.body,
    });
    const text = await res.text();
    let body: Json = {};
    try {
      body = JSON.parse(text);
    } catch { /* not JSON */ }
    return { status: res.status, body, text };
  };
  return { deps, app, admin, viewer, call };
}

Deno.test("POST …/imports: a CSV with a bad row is imported in the background; the job counts it and names the line and reason", async () => {
  const { deps, admin, call } = await setup();
  try {
    const posted = await call("POST", "/registries/social/imports?file_name=people.csv", {
      body: CSV,
      type: "text/csv",
    });
    assert.equal(posted.status, 202, posted.text);
    assert.equal(posted.body.state, "queued");
    assert.equal(posted.body.format, "csv");
    assert.equal(posted.body.file_name, "people.csv");
    const runner = startImportRunner(deps);
    await runner.idle();
    await runner.stop();
    const job = await call("GET", `/registries/social/imports/${posted.body.id}`);
    assert.equal(job.status, 200, job.text);
    assert.equal(job.body.state, "done");
    assert.deepEqual(
      [job.body.read, job.body.kept, job.body.registered, job.body.rejected_count],
      [3, 2, 2, 1],
    );
    const rejected = job.body.rejected as Array<{ line: number; reason: string }>;
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0].line, 3);
    assert.match(rejected[0].reason, /birth_date/);
    const rec = await call("GET", "/registries/social/registrants/IMP-3");
    assert.equal(rec.status, 200);
    const list = await call("GET", "/registries/social/imports?limit=1");
    assert.deepEqual((list.body.items as Json[]).map((j) => j.id), [posted.body.id]);
    // One audit row: who uploaded what into which registry (never the file's content).
    const audit = (await deps.storage.audit.list({ action: "registry.import" })).items;
    assert.equal(audit.length, 1);
    assert.equal(audit[0].actor, admin.info.id);
    assert.deepEqual([audit[0].target_kind, audit[0].target_id], ["registry", "social"]);
    assert.equal(audit[0].detail.job_id, posted.body.id);
  } finally {
    deps.close();
  }
});

Deno.test("POST …/imports: a file over DCI_IMPORT_UPLOAD_MAX_BYTES is refused with 413 and an ERR body, declared or chunked; nothing is left", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-import-413-" });
  const { deps, call } = await setup({ dataDir: dir, importUploadMaxBytes: "2048" });
  try {
    const big = CSV + "IMP-9,Dan,Zulu,male,1970-01-01,UIN-IMP-9\n".repeat(100);
    const declared = await call("POST", "/registries/social/imports", { body: big, type: "text/csv" });
    assert.equal(declared.status, 413, declared.text);
    assert.match(JSON.stringify(declared.body), /larger than the limit of 2048 bytes/);
    const bytes = new TextEncoder().encode(big);
    const chunked = new ReadableStream<Uint8Array>({
      start(ctl) {
        for (let i = 0; i < bytes.length; i += 500) ctl.enqueue(bytes.subarray(i, i + 500));
        ctl.close();
      },
    });
    const streamed = await call("POST", "/registries/social/imports", { body: chunked, type: "text/csv" });
    assert.equal(streamed.status, 413, streamed.text);
    assert.match(JSON.stringify(streamed.body), /err\.request\.bad/);
    assert.deepEqual((await call("GET", "/registries/social/imports")).body.items, []);
    assert.deepEqual(await spools(deps), [], "no spool is left behind");
    // Under the limit the same route takes it (the limit is the import's, not DCI_BODY_LIMIT's).
    const small = await call("POST", "/registries/social/imports", { body: CSV, type: "text/csv" });
    assert.equal(small.status, 202, small.text);
  } finally {
    deps.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("POST …/imports: larger than DCI_BODY_LIMIT is accepted; a viewer token is refused; an unknown or unserved registry is 404", async () => {
  const { deps, viewer, call } = await setup({ bodyLimit: "1024", registries: "social,fr" });
  try {
    const rows = Array.from({ length: 100 }, (_, i) => `B-${i},Eve,Tembo,female,1999-01-01,UIN-B-${i}`);
    const file = `id,given_name,surname,sex,birth_date,id.UIN\n${rows.join("\n")}\n`;
    assert.ok(file.length > 1024);
    const ok = await call("POST", "/registries/social/imports", { body: file, type: "text/csv" });
    assert.equal(ok.status, 202, ok.text);
    const refused = await call("POST", "/registries/social/imports", {
      body: CSV,
      type: "text/csv",
      token: viewer.token,
    });
    assert.equal(refused.status, 403, refused.text);
    const read = await call("GET", `/registries/social/imports/${ok.body.id}`, { token: viewer.token });
    assert.equal(read.status, 200);
    assert.equal((await call("GET", "/registries/social/imports")).body.items instanceof Array, true);
    for (const registry of ["nope", "crvs"]) {
      const r = await call("POST", `/registries/${registry}/imports`, { body: CSV, type: "text/csv" });
      assert.equal(r.status, 404, r.text);
      assert.match(JSON.stringify(r.body), /err\.request\.not_found/);
    }
    const unknownFormat = await call("POST", "/registries/social/imports?format=xml", {
      body: CSV,
      type: "text/csv",
    });
    assert.equal(unknownFormat.status, 400);
    // Run the queued job: it ends and its spool file goes.
    const runner = startImportRunner(deps);
    await runner.idle();
    await runner.stop();
    assert.equal((await call("GET", `/registries/social/imports/${ok.body.id}`)).body.kept, 100);
  } finally {
    deps.close();
  }
});

Deno.test("import runner: a job stopped after one batch resumes after it; no record is written twice and the counts are exact", async () => {
  const { deps, call } = await setup();
  try {
    const n = 1200;
    const lines = Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        id: `R-${i}`,
        name: { given_name: "Ida", surname: "Kumwenda" },
        identifier: [{ identifier_type: "UIN", identifier_value: `UIN-R-${i}` }],
      }));
    const posted = await call("POST", "/registries/social/imports?file_name=r.ndjson", {
      body: lines.join("\n") + "\n",
      type: "application/x-ndjson",
    });
    assert.equal(posted.status, 202, posted.text);
    const first = startImportRunner(deps);
    // Stopping as it starts: the batch in hand is finished and committed, then the job is left running.
    await first.stop();
    const halfway = (await call("GET", `/registries/social/imports/${posted.body.id}`)).body;
    assert.equal(halfway.state, "running");
    assert.equal(halfway.read, 500);
    assert.equal(halfway.registered, 500);
    const second = startImportRunner(deps);
    await second.idle();
    await second.stop();
    const done = (await call("GET", `/registries/social/imports/${posted.body.id}`)).body;
    assert.equal(done.state, "done");
    assert.deepEqual([done.read, done.registered, done.updated, done.rejected_count], [n, n, 0, 0]);
    const [events] = await deps.sql(
      "SELECT COUNT(*) AS n FROM registry_events WHERE registry = 'social' AND event_type = 'registration'",
    );
    assert.equal(Number(events.n), n, "one registration event per record");
  } finally {
    deps.close();
  }
});

Deno.test("POST …/imports: a JSON array (application/json) is imported; a CSV with an unknown column fails its job with the reason", async () => {
  const { deps, call } = await setup();
  try {
    const array = JSON.stringify([
      { id: "J-1", name: { given_name: "Jo", surname: "Daka" } },
      { id: "J-2", name: { given_name: "Li", surname: "Daka" } },
    ]);
    const json = await call("POST", "/registries/social/imports", { body: array, type: "application/json" });
    assert.equal(json.status, 202, json.text);
    assert.equal(json.body.format, "json");
    const bad = await call("POST", "/registries/social/imports?file_name=bad.csv", {
      body: "id,salary\nX-1,100\n",
      type: "text/csv",
    });
    assert.equal(bad.status, 202, bad.text);
    const runner = startImportRunner(deps);
    await runner.idle();
    await runner.stop();
    const good = (await call("GET", `/registries/social/imports/${json.body.id}`)).body;
    assert.deepEqual([good.state, good.kept], ["done", 2]);
    const failed = (await call("GET", `/registries/social/imports/${bad.body.id}`)).body;
    assert.equal(failed.state, "failed");
    assert.match(String(failed.error), /salary/);
    assert.ok(failed.finished_at);
  } finally {
    deps.close();
  }
});

Deno.test("POST …/imports: a Latin-1 file is refused at upload, a repeated CSV column fails its job naming it, writing nothing; a null in a JSON array is one rejected row", async () => {
  const { deps, call } = await setup();
  try {
    const post = async (name: string, body: BodyInit, type: string) => {
      const r = await call("POST", `/registries/social/imports?file_name=${name}`, { body, type });
      assert.equal(r.status, 202, r.text);
      return r.body.id;
    };
    // Not UTF-8, at its start or after 3,000 good rows (~100 KB: past what the first read chunk checks): refused
    // before any job writes a row of it, naming the line and byte.
    const good = Array.from({ length: 3000 }, (_, i) => `OK-${i},Ann,Banda,OK-UIN-${i}\n`).join("");
    for (
      const [text, line] of [
        ["id,given_name,surname,id.UIN\nLAT-1,Jos\xe9,M\xfcller,LAT-UIN-1\n", 2],
        [`id,given_name,surname,id.UIN\n${good}LAT-1,Jos\xe9,M\xfcller,LAT-UIN-1\n`, 3002],
      ] as const
    ) {
      const latin1 = Uint8Array.from(text, (c) => c.charCodeAt(0));
      const refused = await call("POST", "/registries/social/imports?file_name=latin1.csv", {
        body: latin1,
        type: "text/csv",
      });
      assert.equal(refused.status, 400, refused.text);
      assert.match(
        refused.text,
        new RegExp(`line ${line}: the file is not UTF-8 text: byte 0xE9 at byte offset`),
      );
    }
    assert.deepEqual((await call("GET", "/registries/social/imports")).body.items, []);
    const ids = [
      // A header cell that reads like a storage fault is the file's fault: the job fails, it is not paused.
      await post("fault.csv", "id,database is locked\nFLT-1,x\n", "text/csv"),
      await post("dup.csv", "id,surname,surname,given_name\nDUP-1,Lee,Banda,Ann\n", "text/csv"),
      await post(
        "arr.json",
        '[{"id":"ARR-1","given_name":"A"},\n null,\n{"id":"ARR-2","given_name":"B"}]',
        "application/json",
      ),
    ];
    const runner = startImportRunner(deps);
    await runner.idle();
    await runner.stop();
    const [fault, dup, arr] = await Promise.all(
      ids.map(async (id) => (await call("GET", `/registries/social/imports/${id}`)).body),
    );
    assert.deepEqual([fault.state, fault.read], ["failed", 0]);
    assert.match(String(fault.error), /database is locked/);
    assert.equal(dup.state, "failed");
    assert.match(String(dup.error), /CSV column "surname" \(column 3\) repeats column 2/);
    assert.equal(dup.read, 0);
    assert.deepEqual([arr.state, arr.kept, arr.rejected_count], ["done", 2, 1]);
    assert.deepEqual(arr.rejected, [{ line: 2, reason: "record must be a JSON object, found null" }]);
    for (const id of ["LAT-1", "OK-0", "DUP-1"]) {
      assert.equal((await call("GET", `/registries/social/registrants/${id}`)).status, 404, id);
    }
  } finally {
    deps.close();
  }
});

Deno.test("import runner: at start it removes old spool files no job refers to (an upload cut off by a crash)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-import-prune-" });
  const { deps, call } = await setup({ dataDir: dir });
  try {
    const queued = await call("POST", "/registries/social/imports", { body: CSV, type: "text/csv" });
    assert.equal(queued.status, 202);
    await plantSpool(deps, "import-orphan.upload", deps.clock.now() - IMPORT_SPOOL_GRACE_MS - 1000);
    // One as young as an upload still arriving (on this or another instance) is kept.
    await plantSpool(deps, "import-young.upload", deps.clock.now());
    const runner = startImportRunner(deps);
    await runner.idle();
    await runner.stop();
    const left = await spools(deps);
    assert.ok(!left.includes("import-orphan.upload"), left.join());
    assert.ok(left.includes("import-young.upload"), left.join());
    // The queued job's own file was kept for it: it ran to the end.
    assert.equal((await call("GET", `/registries/social/imports/${queued.body.id}`)).body.state, "done");
  } finally {
    deps.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** The import spools in the test's backend: the spool dir's files (SQLite), the spools' chunks (PostgreSQL). */
async function spools(deps: TestDeps): Promise<string[]> {
  if (deps.backend === "postgres") {
    return (await deps.sql("SELECT DISTINCT spool FROM import_spool_chunks ORDER BY spool")).map((r) =>
      String(r.spool)
    );
  }
  return [...Deno.readDirSync(spoolDir(deps.config))].map((e) => e.name).sort();
}

/** A spool no job refers to, last written at `ms`: a file in the spool dir, or a chunk row on PostgreSQL. */
async function plantSpool(deps: TestDeps, name: string, ms: number): Promise<void> {
  const bytes = new TextEncoder().encode("id\nX\n");
  if (deps.backend === "postgres") {
    await deps.sql(
      "INSERT INTO import_spool_chunks (spool, seq, bytes, written_at) VALUES (?, 0, ?, ?)",
      [name, bytes, ms],
    );
    return;
  }
  const path = `${spoolDir(deps.config)}/${name}`;
  await Deno.writeFile(path, bytes);
  await Deno.utime(path, new Date(ms), new Date(ms));
}

/** Holds the SQLite write lock of `dir`'s database from another connection until `release()`. */
function holdWriteLock(dir: string): { release(): void } {
  const other = new DatabaseSync(`${dir}/dci.sqlite`);
  other.exec("BEGIN IMMEDIATE");
  return {
    release: () => {
      other.exec("COMMIT");
      other.close();
    },
  };
}

/** Resolves with the fields of the next warn line `deps` logs with message `msg`. */
function nextWarn(deps: { log: Logger }, msg: string): Promise<Record<string, unknown>> {
  const { promise, resolve } = Promise.withResolvers<Record<string, unknown>>();
  const log = deps.log;
  deps.log = { ...log, warn: (m, fields) => m === msg ? resolve(fields ?? {}) : log.warn(m, fields) };
  return promise;
}

Deno.test({
  name:
    "import runner: a write lock held by another process pauses the job; it resumes and completes with exact counts once released",
  // SQLite's file write lock and busy timeout (another process's BEGIN IMMEDIATE on the data dir's file).
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-import-lock-" });
  const { deps, call } = await setup({ dataDir: dir });
  setBusyTimeout(deps.db, 50); // the lock wait that makes a batch give up, short for the test
  try {
    const posted = await call("POST", "/registries/social/imports", { body: CSV, type: "text/csv" });
    assert.equal(posted.status, 202, posted.text);
    const lock = holdWriteLock(dir);
    const paused = nextWarn(deps, "import paused: the database could not be written; retrying");
    const runner = startImportRunner(deps, { retryDelaysMs: [20] });
    // Without the pause the job fails at once and the runner goes idle: the race ends either way.
    const warned: Record<string, unknown> = await Promise.race([paused, runner.idle().then(() => ({}))]);
    assert.equal(warned.id, posted.body.id);
    assert.match(String(warned.error), /locked/);
    assert.notEqual((await call("GET", `/registries/social/imports/${posted.body.id}`)).body.state, "failed");
    // Still held at the next try: paused again, counted.
    assert.equal(
      (await nextWarn(deps, "import paused: the database could not be written; retrying")).tries,
      2,
    );
    lock.release();
    await runner.idle();
    await runner.stop();
    const done = (await call("GET", `/registries/social/imports/${posted.body.id}`)).body;
    assert.equal(done.state, "done", JSON.stringify(done));
    assert.deepEqual([done.read, done.registered, done.rejected_count], [3, 2, 1]);
  } finally {
    deps.close();
    await Deno.remove(dir, { recursive: true });
  }
});
