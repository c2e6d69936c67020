/**
 * The import runner when the database does not answer: a pass that cannot read the job list (or take a job's
 * lock) is logged and tried again on the runner's retry timer; nothing it does rejects unhandled, which would end
 * the process (every instance of a PostgreSQL cluster at the same sweep tick).
 */
import assert from "node:assert/strict";
import { TEST_BACKEND, type TestDeps, testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { startImportRunner } from "../../src/registry/imports/runner.ts";
import type { Storage } from "../../src/db/storage.ts";

const CSV = "id,given_name,surname,sex,birth_date,id.UIN\n" +
  "OUT-1,Ana,Banda,female,1990-01-02,UIN-OUT-1\n" +
  "OUT-2,Cleo,Mwale,female,1985-07-30,UIN-OUT-2\n";

/** What the pg driver throws while PostgreSQL is down. */
function refused(): Error {
  return Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:5432"), { code: "ECONNREFUSED" });
}

/** Deps with a queued import job, their warn and error lines recorded. */
async function setup() {
  const deps = await testDeps();
  const admin = await deps.storage.adminTokens.create({ role: "admin", name: "ops" });
  const res = await createApp(deps).request("/admin/v1/registries/social/imports?file_name=p.csv", {
    method: "POST",
    headers: { authorization: `Bearer ${admin.token}`, "content-type": "text/csv" },
    body: CSV,
  });
  assert.equal(res.status, 202, await res.clone().text());
  const id = Number((await res.json()).id);
  const lines: Array<{ level: string; msg: string; fields: Record<string, unknown> }> = [];
  const log = deps.log;
  deps.log = {
    ...log,
    warn: (msg, fields = {}) => lines.push({ level: "warn", msg, fields }),
    error: (msg, fields = {}) => lines.push({ level: "error", msg, fields }),
  };
  return { deps, id, lines };
}

/** `deps.storage` with `name` of the storage replaced (the other members as they are). */
function replace<K extends keyof Storage>(deps: TestDeps, name: K, value: Storage[K]): void {
  deps.storage = new Proxy(deps.storage, { get: (t, k) => k === name ? value : Reflect.get(t, k) });
}

/** Records the promises that reject unhandled while `fn` runs (instead of failing the test run with them). */
async function unhandledDuring(fn: () => Promise<void>): Promise<unknown[]> {
  const seen: unknown[] = [];
  const listener = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    seen.push(e.reason);
  };
  globalThis.addEventListener("unhandledrejection", listener);
  try {
    await fn();
    await new Promise((r) => setTimeout(r, 50)); // a rejection is reported after the microtasks
  } finally {
    globalThis.removeEventListener("unhandledrejection", listener);
  }
  return seen;
}

Deno.test("import runner: the job list unreadable (the database down) is a warning, retried on the retry timer; the job runs once it answers", async () => {
  const { deps, id, lines } = await setup();
  try {
    const jobs = deps.storage.importJobs;
    let failures = 2;
    const open = () => failures-- > 0 ? Promise.reject(refused()) : jobs.open();
    replace(deps, "importJobs", new Proxy(jobs, { get: (t, k) => k === "open" ? open : Reflect.get(t, k) }));
    const unhandled = await unhandledDuring(async () => {
      const runner = startImportRunner(deps, { retryDelaysMs: [20] });
      runner.wake(); // a sweep tick while the first pass fails
      await runner.idle();
      await runner.stop();
    });
    assert.deepEqual(unhandled, []);
    const faults = lines.filter((l) => l.msg === "import runner could not look for jobs; retrying");
    assert.deepEqual(faults.map((l) => [l.level, l.fields.tries, l.fields.retry_in_ms]), [
      ["warn", 1, 20],
      ["warn", 2, 20],
    ]);
    assert.equal(lines.filter((l) => l.level === "error").length, 0, JSON.stringify(lines));
    const job = await deps.storage.importJobs.get(id);
    assert.equal(job?.state, "done", JSON.stringify(job));
    assert.equal(job?.registered, 2);
  } finally {
    deps.close();
  }
});

Deno.test("import runner: an unexpected fault as it looks for jobs is an error, retried; nothing rejects unhandled", async () => {
  const { deps, id, lines } = await setup();
  try {
    const jobs = deps.storage.importJobs;
    let failures = 1;
    const open = () => failures-- > 0 ? Promise.reject(new Error("relation does not exist")) : jobs.open();
    replace(deps, "importJobs", new Proxy(jobs, { get: (t, k) => k === "open" ? open : Reflect.get(t, k) }));
    const unhandled = await unhandledDuring(async () => {
      const runner = startImportRunner(deps, { retryDelaysMs: [20] });
      await runner.idle();
      await runner.stop();
    });
    assert.deepEqual(unhandled, []);
    assert.deepEqual(lines.map((l) => [l.level, l.msg]), [
      ["error", "import runner could not look for jobs; retrying"],
    ]);
    assert.equal((await deps.storage.importJobs.get(id))?.state, "done");
  } finally {
    deps.close();
  }
});

Deno.test("import runner: a job whose lock cannot be taken (the database down) pauses with a warning and runs on the retry", async () => {
  const { deps, id, lines } = await setup();
  try {
    const tryExclusive = deps.storage.tryExclusive.bind(deps.storage);
    let failures = 1;
    replace(
      deps,
      "tryExclusive",
      (name, fn) => failures-- > 0 ? Promise.reject(refused()) : tryExclusive(name, fn),
    );
    const runner = startImportRunner(deps, { retryDelaysMs: [20] });
    await runner.idle();
    await runner.stop();
    assert.deepEqual(lines.map((l) => [l.level, l.msg, l.fields.id]), [
      ["warn", "import paused: the database could not be written; retrying", id],
    ]);
    assert.equal((await deps.storage.importJobs.get(id))?.state, "done");
  } finally {
    deps.close();
  }
});

Deno.test("import runner: a batch that finds the job moved on by another runner stops this runner, the job left running and resumable (not failed, its spool kept)", async () => {
  const { deps, id, lines } = await setup();
  try {
    const load = deps.storage.registryLoad;
    let taken = 1;
    // Another runner (which took the job when this one's lock was lost) commits the file's first record just as
    // this one starts writing.
    const write: typeof load.write = async (batches, options) => {
      if (taken-- > 0) await deps.sql("UPDATE registry_imports SET read = read + 1 WHERE id = ?", [id]);
      return await load.write(batches, options);
    };
    replace(
      deps,
      "registryLoad",
      new Proxy(load, { get: (t, k) => k === "write" ? write : Reflect.get(t, k) }),
    );
    const runner = startImportRunner(deps, { retryDelaysMs: [20] });
    await runner.idle();
    assert.deepEqual(lines.map((l) => [l.level, l.msg, l.fields.id]), [
      ["warn", "import job taken over by another runner; this one stops", id],
    ]);
    const left = await deps.storage.importJobs.get(id);
    assert.deepEqual([left?.state, left?.read, left?.registered], ["running", 1, 0]);
    assert.equal(await deps.storage.registry.get("OUT-1", "social"), undefined);
    // The other runner gone, the next pass resumes after the record it counted: only the second is written here.
    runner.wake();
    await runner.idle();
    await runner.stop();
    const done = await deps.storage.importJobs.get(id);
    assert.deepEqual([done?.state, done?.read, done?.registered], ["done", 2, 1]);
    assert.equal(await deps.storage.registry.get("OUT-1", "social"), undefined);
    assert.ok(await deps.storage.registry.get("OUT-2", "social"));
  } finally {
    deps.close();
  }
});

Deno.test({
  name:
    "import runner: a job meeting a bulk load's staged rows (a CLI load running) pauses, writing nothing, and runs once that load has ended",
  // Only the embedded backend stages a bulk load's keyed rows (load_identifiers) until the load's end.
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const { deps, id, lines } = await setup();
  try {
    // A first load's staged identifier: the job's record claiming it would have made that load's merge fail.
    await deps.sql(
      "INSERT INTO load_identifiers (id_value, id_type, registrant_id, registry) VALUES ('UIN-OUT-1', 'UIN', 999999, 'social')",
    );
    const runner = startImportRunner(deps, { retryDelaysMs: [20] });
    const deadline = performance.now() + 20_000;
    while (lines.length < 2 && performance.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(lines.length >= 2, JSON.stringify(lines));
    for (const l of lines) {
      assert.deepEqual([l.level, l.msg, l.fields.id], [
        "warn",
        "import paused: the database could not be written; retrying",
        id,
      ]);
      assert.match(String(l.fields.error), /A bulk registry load is in progress/);
    }
    const paused = await deps.storage.importJobs.get(id);
    assert.deepEqual([paused?.state, paused?.read], ["running", 0]);
    assert.equal(await deps.storage.registry.get("OUT-1", "social"), undefined);
    // The load ends (its rows merged): the job runs on its next try.
    await deps.sql("DELETE FROM load_identifiers");
    await runner.idle();
    await runner.stop();
    const done = await deps.storage.importJobs.get(id);
    assert.deepEqual([done?.state, done?.registered], ["done", 2]);
  } finally {
    deps.close();
  }
});
