/**
 * A start that cannot succeed ends the way the README promises: a setting's mistake exits 2 naming the variable
 * (systemd's RestartPreventExitStatus=2), without a stack trace or a background task left running against a
 * closed database.
 */
import assert from "node:assert/strict";
import { runCliProcess } from "../helpers/server.ts";
import { testDeps } from "../helpers/deps.ts";
import { BackgroundStartError, startBackground } from "../../src/jobs/background.ts";
import { createLogger } from "../../src/obs/log.ts";
import type { JobQueue } from "../../src/jobs/queue.ts";

async function serveFails(
  env: Record<string, string>,
): Promise<{ code: number; stderr: string; stdout: string }> {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-startfail-" });
  try {
    return await runCliProcess(["serve"], {
      DCI_DATA_DIR: dataDir,
      DCI_PORT: "0",
      DCI_SEED_DEMO: "false",
      ...env,
    });
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test("serve exits 2 naming DCI_BACKUP_CRON for a schedule Deno.cron would refuse, before anything starts", async () => {
  for (const cron of ["61 3 * * *", "0 3 * * 0"]) {
    const r = await serveFails({ DCI_BACKUP_CRON: cron, DCI_LOG_LEVEL: "info" });
    assert.equal(r.code, 2, r.stderr);
    assert.ok(r.stderr.includes(`DCI_BACKUP_CRON="${cron}"`), r.stderr);
    assert.doesNotMatch(r.stderr + r.stdout, /sweep failed|database is not open|\n\s+at /);
    assert.doesNotMatch(r.stdout, /"listening"/);
  }
});

Deno.test("serve exits 2 naming DCI_KEY_ENCRYPTION_KEY for a malformed key-encryption key, without echoing it", async () => {
  const r = await serveFails({ DCI_KEY_ENCRYPTION_KEY: "abc" });
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /DCI_KEY_ENCRYPTION_KEY must be 32 random bytes/);
  assert.doesNotMatch(r.stderr, /abc/);
  const file = await serveFails({ DCI_KEY_ENCRYPTION_KEY_FILE: "/nonexistent/dci-kek" });
  assert.equal(file.code, 2, file.stderr);
  assert.match(file.stderr, /DCI_KEY_ENCRYPTION_KEY_FILE \/nonexistent\/dci-kek cannot be read/);
});

Deno.test("startBackground() refused by Deno.cron starts nothing else and names the schedule", async () => {
  const deps = await testDeps();
  let listening = false;
  const queue = deps.queue;
  deps.queue = { ...queue, listen: (h) => (listening = true, queue.listen(h)) } as JobQueue;
  // A weekday Deno.cron counts from 1: past the config's validation (built by hand), Deno.cron itself refuses it.
  deps.config = Object.freeze({ ...deps.config, dataDir: "/nonexistent/dci-data", backupCron: "0 3 * * 0" });
  try {
    assert.throws(
      () => startBackground(deps),
      /cron schedule database backup "0 3 \* \* 0" refused: Invalid cron schedule/,
    );
    assert.equal(listening, false, "the queue listener was not started");
  } finally {
    deps.close();
  }
});

Deno.test("startBackground() failing partway stops what it started before the error reaches the caller", async () => {
  const deps = await testDeps();
  const errors: string[] = [];
  deps.log = createLogger("error", { sink: (line) => errors.push(line) });
  deps.queue = {
    ...deps.queue,
    listen: () => {
      throw new Error("queue: already listening");
    },
  } as JobQueue;
  let failure: unknown;
  try {
    startBackground(deps);
  } catch (err) {
    failure = err;
  }
  assert.ok(failure instanceof BackgroundStartError, String(failure));
  assert.match((failure.cause as Error).message, /already listening/);
  // The notifier and the import runner, started before the listener, have stopped once `stopped` settles: the deps
  // close under nothing (the test's sanitizers would report a timer or an operation left running).
  await failure.stopped;
  deps.close();
  assert.deepEqual(errors, []);
});
