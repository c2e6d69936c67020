/**
 * SIGKILL during `dci-server registry import` of a large file: the database stays consistent, only whole
 * batches are present, each imported row has its registration event, the deferred indexes are remembered, and
 * re-running the import completes the load.
 */
import assert from "node:assert/strict";
import { backendEnv, dataDirSql, runCliProcess } from "../helpers/server.ts";
import { TEST_BACKEND } from "../helpers/deps.ts";
import { LOOPBACK_ONLY, RUN_FLAGS } from "../helpers/runtime.ts";
import { person } from "../subscriptions/helpers.ts";
import { integrityCheck } from "../fuzz/target.ts";
import { CHECKPOINTER_BATCH } from "../../src/registry/load_store.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

const one = async (dataDir: string, sql: string) => Number((await dataDirSql(dataDir, sql))[0].n);

function rowCount(dataDir: string): Promise<number> {
  return one(dataDir, "SELECT COUNT(*) AS n FROM registrants");
}

/** The registry's deferrable search indexes (reg_p_*, reg_g_*) that exist now. */
const SEARCH_INDEXES = TEST_BACKEND === "postgres"
  ? String
    .raw`SELECT COUNT(*) AS n FROM pg_indexes WHERE tablename = 'registrants' AND (indexname LIKE 'reg\_p\_%' OR indexname LIKE 'reg\_g\_%')`
  : "SELECT COUNT(*) AS n FROM sqlite_master WHERE type = 'index' AND (name LIKE 'reg\\_p\\_%' ESCAPE '\\' OR name LIKE 'reg\\_g\\_%' ESCAPE '\\')";

/** SQLite's integrity check of the data dir's file; PostgreSQL has no such check (its writes are transactional). */
function integrity(dataDir: string): string {
  return TEST_BACKEND === "postgres" ? "ok" : integrityCheck(dataDir);
}

async function counts(dataDir: string) {
  return {
    rows: await one(dataDir, "SELECT COUNT(*) AS n FROM registrants"),
    events: await one(dataDir, "SELECT COUNT(*) AS n FROM registry_events WHERE event_type = 'registration'"),
    withoutEvent: await one(
      dataDir,
      "SELECT COUNT(*) AS n FROM registrants WHERE id NOT IN (SELECT registrant_id FROM registry_events)",
    ),
    orphanEvents: await one(
      dataDir,
      "SELECT COUNT(*) AS n FROM registry_events WHERE registrant_id NOT IN (SELECT id FROM registrants)",
    ),
    deferred: await one(dataDir, "SELECT COUNT(*) AS n FROM registry_deferred_indexes"),
    indexes: await one(dataDir, SEARCH_INDEXES),
  };
}

/**
 * Imports N persons in batches of BATCH, kills the import once `batches` batches are in, checks what is left and
 * imports the file again.
 */
async function killMidImport(N: number, BATCH: number, batches: number): Promise<void> {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-importkill-" });
  const file = `${dataDir}/persons.ndjson`;
  try {
    const lines = [];
    for (let i = 0; i < N; i++) lines.push(JSON.stringify(person(`K-${String(i).padStart(6, "0")}`)));
    await Deno.writeTextFile(file, lines.join("\n") + "\n");
    const env = { DCI_DATA_DIR: dataDir, DCI_SEED_DEMO: "false", DCI_LOG_LEVEL: "error" };
    // Create the schema first, so the killed run's progress can be watched from here.
    assert.equal((await runCliProcess(["migrate"], env)).code, 0);
    const indexesBefore = (await counts(dataDir)).indexes;
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
      // On the PostgreSQL pass, the database the data dir stands for (as runCliProcess gives it).
      env: await backendEnv(env, dataDir),
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const stderr = new Response(child.stderr).text();
    let exited = false;
    child.status.then(() => exited = true);
    const end = Date.now() + 30_000;
    let seen = 0;
    while ((seen = await rowCount(dataDir)) < batches * BATCH) {
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

    assert.equal(integrity(dataDir), "ok");
    const killed = await counts(dataDir);
    assert.ok(killed.rows >= batches * BATCH && killed.rows < N, `killed too late: ${killed.rows} rows`);
    assert.equal(killed.rows % BATCH, 0, `a half batch is present: ${killed.rows} rows`);
    assert.equal(killed.events, killed.rows, "one registration event per committed row");
    assert.equal(killed.withoutEvent, 0);
    assert.equal(killed.orphanEvents, 0);
    // The bulk load had dropped the search indexes; their DDL is remembered for the next run.
    assert.equal(killed.deferred + killed.indexes, indexesBefore);

    const again = await runCliProcess(["registry", "import", file, "--batch", String(BATCH)], env);
    assert.equal(again.code, 0, again.stderr);
    const done = await counts(dataDir);
    assert.equal(done.rows, N);
    assert.equal(done.events, N, "each person registered exactly once");
    assert.equal(done.withoutEvent, 0);
    assert.equal(done.orphanEvents, 0);
    assert.equal(done.deferred, 0);
    assert.equal(done.indexes, indexesBefore);
    assert.equal(integrity(dataDir), "ok");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test(
  "faults: SIGKILL mid-import keeps whole batches with their events; re-running completes the load",
  () => killMidImport(40_000, 1000, 3),
);

// SQLite only: PostgreSQL has no checkpointer (and the first case covers its imports).
Deno.test({
  name:
    "faults: SIGKILL mid-import with batches big enough for the checkpointer thread keeps whole batches too",
  ignore: TEST_BACKEND === "postgres",
  fn: () => killMidImport(30_000, CHECKPOINTER_BATCH, 1),
});
