/**
 * A CLI command of a newer binary run before its server is restarted: it neither migrates the database under
 * the running older server (a migration that changes a table the old server's statements use makes its every
 * request fail) nor re-seals the stored secrets with the shell's key-encryption key settings.
 */
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { dataDirSql, runCliProcess, startServerProcess } from "../helpers/server.ts";
import { TEST_BACKEND } from "../helpers/storage.ts";
import { loadConfig, PROCESSORS, startServer } from "../../src/mod.ts";
import { createLogger, silentLogger } from "../../src/obs/log.ts";

Deno.test("a CLI command refuses (exit 2) a database with migrations pending and leaves it unmigrated", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-cli-schema-" });
  try {
    await (await startServerProcess({ dataDir })).stop();
    // As a database of the previous version looks to this binary: its newest migration not applied yet.
    const [{ v }] = await dataDirSql(dataDir, "SELECT MAX(version) AS v FROM schema_migrations");
    await dataDirSql(dataDir, `DELETE FROM schema_migrations WHERE version = ${Number(v)}`);
    const count = async () =>
      Number((await dataDirSql(dataDir, "SELECT COUNT(*) AS n FROM schema_migrations"))[0].n);
    const before = await count();

    const listed = await runCliProcess(["sender", "list"], { DCI_DATA_DIR: dataDir });
    assert.equal(listed.code, 2, listed.stderr);
    assert.match(listed.stderr, /older than this binary \(1 migration pending: 0*\d+_[a-z0-9_]+\)/);
    assert.match(
      listed.stderr,
      /Stop the servers on it, then start the new server .* or run dci-server migrate/s,
    );
    assert.equal(await count(), before, "nothing migrated");

    // The same database current again: the command runs.
    await dataDirSql(
      dataDir,
      `INSERT INTO schema_migrations (version, name, applied_at) SELECT ${
        Number(v)
      }, 'x', 'y' WHERE NOT EXISTS ` +
        `(SELECT 1 FROM schema_migrations WHERE version = ${Number(v)})`,
    );
    const again = await runCliProcess(["sender", "list"], { DCI_DATA_DIR: dataDir });
    assert.equal(again.code, 0, again.stderr);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test({
  name:
    "a SQLite server started with DCI_WORKER=false does not migrate a database the worker's server may serve",
  // PostgreSQL instances migrate at start, one at a time (the rolling upgrade); only SQLite has one worker server.
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-cli-schema-" });
  try {
    await (await startServerProcess({ dataDir })).stop();
    const [{ v }] = await dataDirSql(dataDir, "SELECT MAX(version) AS v FROM schema_migrations");
    await dataDirSql(dataDir, `DELETE FROM schema_migrations WHERE version = ${Number(v)}`);
    const r = await runCliProcess(["serve"], { DCI_DATA_DIR: dataDir, DCI_WORKER: "false", DCI_PORT: "0" });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, /1 migration pending.*servers started with DCI_WORKER=false do not migrate it/s);
    // A deployment's own main.ts (startServer) the same.
    await assert.rejects(
      startServer({
        config: loadConfig({}, {
          DCI_DATA_DIR: dataDir,
          DCI_WORKER: "false",
          DCI_PORT: "0",
          DCI_LOG_LEVEL: "error",
        }),
        log: silentLogger,
      }),
      /1 migration pending/,
    );
    const [{ n }] = await dataDirSql(
      dataDir,
      `SELECT COUNT(*) AS n FROM schema_migrations WHERE version = ${Number(v)}`,
    );
    assert.equal(Number(n), 0, "nothing migrated");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a database a newer binary migrated is refused (exit 2) by a command and by migrate, naming the migration it does not know", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-cli-schema-" });
  try {
    await (await startServerProcess({ dataDir })).stop();
    await dataDirSql(
      dataDir,
      "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99999, '99999_from_the_future', 'x')",
    );
    for (const args of [["sender", "list"], ["migrate"]]) {
      const r = await runCliProcess(args, { DCI_DATA_DIR: dataDir });
      assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
      assert.match(r.stderr, /migrations this binary does not know: 99999_from_the_future/, args.join(" "));
    }
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a CLI command run with a key-encryption key does not seal the secrets a server without one stored", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-cli-seal-" });
  try {
    await (await startServerProcess({ dataDir })).stop();
    const stored = async () =>
      (await dataDirSql(dataDir, "SELECT private_der FROM server_keys")).map((r) => String(r.private_der));
    const before = await stored();
    assert.ok(before.every((v) => !v.startsWith("dcikek1:")), "stored in plaintext without a KEK");
    const listed = await runCliProcess(["keys", "list"], {
      DCI_DATA_DIR: dataDir,
      DCI_KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    });
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(await stored(), before, "the running server can still open them");
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("startServer(): a start that fails after the worker started stops it (no timer of it left running)", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-start-fail-" });
  try {
    const lines: string[] = [];
    await assert.rejects(
      startServer({
        config: loadConfig({}, {
          DCI_DATA_DIR: dataDir,
          DCI_PORT: "0",
          DCI_LOG_LEVEL: "error",
          DCI_SEED_DEMO: "false",
        }),
        log: createLogger("debug", { sink: (l) => lines.push(l) }),
        extensions: {
          routes: () => {
            throw new Error("a routes hook that fails");
          },
        },
      }),
      /a routes hook that fails/,
    );
    // A worker left running polls for due work every 200 ms on storage that is closed, and says so.
    const before = lines.length;
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual(lines.slice(before), []);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("startServer(): async-work hooks given with DCI_WORKER=false are named in a warning (another process's worker runs without them)", async () => {
  const lines: string[] = [];
  const server = await startServer({
    config: loadConfig({}, {
      DCI_DATA_DIR: ":memory:",
      DCI_PORT: "0",
      DCI_WORKER: "false",
      DCI_SEED_DEMO: "false",
    }),
    log: createLogger("warn", { sink: (l) => lines.push(l) }),
    extensions: { processors: { search: PROCESSORS.search }, routes: () => {} },
  });
  await server.stop();
  const warned = lines.map((l) => JSON.parse(l)).filter((l) => l.msg.startsWith("DCI_WORKER=false"));
  assert.deepEqual(warned.map((l) => l.hooks), [["processors"]]);
});

Deno.test("startServer(): a backup dir DCI_BACKUP_CRON cannot write stops the start, as serve's does", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-start-backup-" });
  try {
    await Deno.writeTextFile(`${dir}/blocked`, "");
    await assert.rejects(
      startServer({
        config: loadConfig({}, {
          DCI_DATA_DIR: `${dir}/data`,
          DCI_PORT: "0",
          DCI_LOG_LEVEL: "error",
          DCI_BACKUP_CRON: "0 3 * * *",
          DCI_BACKUP_DIR: `${dir}/blocked/backups`,
        }),
        log: silentLogger,
      }),
      /the backup dir .*blocked\/backups .*cannot be written/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
