/**
 * SIGKILL during `dci-server registry import` of a large file: the database stays consistent, only whole
 * batches are present, each imported row has its registration event, the deferred indexes are remembered, and
 * re-running the import completes the load.
 */
import assert from "node:assert/strict";
import { openDatabase } from "../../src/db/sqlite.ts";
import { runCliProcess } from "../helpers/server.ts";
import { LOOPBACK_ONLY, RUN_FLAGS } from "../helpers/runtime.ts";
import { person } from "../subscriptions/helpers.ts";
import { integrityCheck } from "../fuzz/target.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;
const N = 40_000;
const BATCH = 1000;

function rowCount(dataDir: string): number {
  const db = openDatabase(`${dataDir}/dci.sqlite`);
  try {
    return Number((db.prepare("SELECT COUNT(*) AS n FROM registrants").get() as { n: number }).n);
  } finally {
    db.close();
  }
}

function counts(dataDir: string) {
  const db = openDatabase(`${dataDir}/dci.sqlite`);
  try {
    const one = (sql: string) => Number((db.prepare(sql).get() as Record<string, unknown>).n);
    return {
      rows: one("SELECT COUNT(*) AS n FROM registrants"),
      events: one("SELECT COUNT(*) AS n FROM registry_events WHERE event_type = 'registration'"),
      withoutEvent: one(
        "SELECT COUNT(*) AS n FROM registrants WHERE id NOT IN (SELECT registrant_id FROM registry_events)",
      ),
      orphanEvents: one(
        "SELECT COUNT(*) AS n FROM registry_events WHERE registrant_id NOT IN (SELECT id FROM registrants)",
      ),
      deferred: one("SELECT COUNT(*) AS n FROM registry_deferred_indexes"),
      indexes: one(
        "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND (name LIKE 'reg\\_p\\_%' ESCAPE '\\' OR name LIKE 'reg\\_g\\_%' ESCAPE '\\')",
      ),
    };
  } finally {
    db.close();
  }
}

Deno.test("faults: SIGKILL mid-import keeps whole batches with their events; re-running completes the load", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-importkill-" });
  const file = `${dataDir}/persons.ndjson`;
  try {
    const lines = [];
    for (let i = 0; i < N; i++) lines.push(JSON.stringify(person(`K-${String(i).padStart(6, "0")}`)));
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    const env = { DCI_DATA_DIR: dataDir, DCI_SEED_DEMO: "false", DCI_LOG_LEVEL: "error" };
    // Create the schema first, so the killed run's progress can be watched from here.
    assert.equal((await runCliProcess(["registry", "stats"], env)).code, 0);
    const indexesBefore = counts(dataDir).indexes;
    assert.ok(indexesBefore > 0);

    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...LOOPBACK_ONLY,
        ...RUN_FLAGS,
        MAIN,
        "registry",
        "import",
        file,
        "--batch",
        String(BATCH),
      ],
      env,
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let exited = false;
    child.status.then(() => exited = true);
    const end = Date.now() + 30_000;
    let seen = 0;
    while ((seen = rowCount(dataDir)) < 3 * BATCH) {
      if (exited || Date.now() > end) {
        if (!exited) child.kill("SIGKILL");
        const { code } = await child.status;
        throw new Error(`import made no progress (${seen} rows, exit ${code}): ${await stderr}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    child.kill("SIGKILL");
    const status = await child.status;
    await stderr;
    assert.equal(status.signal, "SIGKILL");

    assert.equal(integrityCheck(dataDir), "ok");
    const killed = counts(dataDir);
    assert.ok(killed.rows >= 3 * BATCH && killed.rows < N, `killed too late: ${killed.rows} rows`);
    assert.equal(killed.rows % BATCH, 0, `a half batch is present: ${killed.rows} rows`);
    assert.equal(killed.events, killed.rows, "one registration event per committed row");
    assert.equal(killed.withoutEvent, 0);
    assert.equal(killed.orphanEvents, 0);
    // The bulk load had dropped the search indexes; their DDL is remembered for the next run.
    assert.equal(killed.deferred + killed.indexes, indexesBefore);

    const again = await runCliProcess(["registry", "import", file, "--batch", String(BATCH)], env);
    assert.equal(again.code, 0, again.stderr);
    const done = counts(dataDir);
    assert.equal(done.rows, N);
    assert.equal(done.events, N, "each person registered exactly once");
    assert.equal(done.withoutEvent, 0);
    assert.equal(done.orphanEvents, 0);
    assert.equal(done.deferred, 0);
    assert.equal(done.indexes, indexesBefore);
    assert.equal(integrityCheck(dataDir), "ok");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
