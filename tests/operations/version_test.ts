/** Safe upgrades: the version in one place, the database's record of who migrated it, and the backup first. */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import denoJson from "../../deno.json" with { type: "json" };
import { compareVersions, VERSION } from "../../src/version.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";
import { openDatabase } from "../../src/db/sqlite.ts";
import { DatabaseVersionError, schemaState, upgradeSchema } from "../../src/db/schema_version.ts";
import { createLogger } from "../../src/obs/log.ts";
import { TEST_BACKEND, testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { runCliProcess, startServerProcess } from "../helpers/server.ts";

const NOW = Date.parse("2026-11-30T13:05:01Z");

function capture() {
  const lines: Record<string, unknown>[] = [];
  return { lines, log: createLogger("info", { sink: (l) => lines.push(JSON.parse(l)) }) };
}

/** A data dir whose database has every migration but the newest, and a row of data. */
async function olderDataDir(): Promise<{ dir: string; db: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dci-upgrade-" });
  const path = `${dir}/dci.sqlite`;
  const db = openDatabase(path);
  migrate(db, MIGRATIONS.slice(0, -1));
  db.exec("CREATE TABLE IF NOT EXISTS schema_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)");
  db.exec("INSERT INTO schema_meta VALUES ('migrated_by', '0.0.9')");
  db.prepare("INSERT INTO senders (sender_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)").run(
    "kept",
    "Kept",
    "2026-01-01",
    "2026-01-01",
  );
  db.close();
  return { dir, db: path };
}

Deno.test("compareVersions() orders by major, minor, patch, and a release above its pre-releases", () => {
  assert.ok(compareVersions("0.2.0", "0.1.9") > 0);
  assert.ok(compareVersions("1.0.0", "0.99.99") > 0);
  assert.ok(compareVersions("0.1.10", "0.1.9") > 0);
  assert.equal(compareVersions("0.1.0", "0.1.0+build.7"), 0);
  assert.ok(compareVersions("0.2.0-rc.1", "0.2.0") < 0);
  assert.ok(compareVersions("0.2.0-rc.1", "0.1.0") > 0);
});

Deno.test("the version comes from deno.json: --version and `version` print it", async () => {
  assert.equal(VERSION, denoJson.version);
  for (const args of [["--version"], ["version"]]) {
    const r = await runCliProcess(args);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.trim(), `dci-server ${VERSION} (deno ${Deno.version.deno})`);
  }
});

Deno.test("GET /healthz names the version and /metrics has dci_build_info with the version and Deno's", async () => {
  const deps = await testDeps();
  try {
    const app = createApp(deps);
    assert.deepEqual(await (await app.request("/healthz")).json(), { status: "ok", version: VERSION });
    const text = await (await app.request("/metrics")).text();
    assert.ok(
      text.includes(`dci_build_info{version="${VERSION}",deno="${Deno.version.deno}"} 1`),
      text.split("\n").filter((l) => l.includes("build_info")).join("\n"),
    );
  } finally {
    deps.close();
  }
});

Deno.test("upgradeSchema() backs up a database with data before migrating it, says so, and records the version", async () => {
  const { dir, db: path } = await olderDataDir();
  const { lines, log } = capture();
  const db = openDatabase(path);
  try {
    const applied = await upgradeSchema(db, {
      backupDir: `${dir}/backups`,
      log,
      nowMs: NOW,
      version: "0.1.0",
    });
    assert.deepEqual(applied, [MIGRATIONS.at(-1)!.name]);
    const file = `${dir}/backups/pre-migrate-0.0.9-0.1.0-20261130T130501Z.sqlite`;
    const line = lines.find((l) => l.msg === "database backed up before migrating")!;
    assert.equal(line.file, file);
    assert.deepEqual(line.migrations, [MIGRATIONS.at(-1)!.name]);
    const copy = new DatabaseSync(file, { readOnly: true });
    assert.equal(schemaState(copy).pending.length, 1, "the backup is the database as it was before");
    assert.equal((copy.prepare("SELECT name FROM senders").get() as { name: string }).name, "Kept");
    copy.close();
    assert.equal(schemaState(db).migratedBy, "0.1.0");
    assert.deepEqual(await upgradeSchema(db, { backupDir: `${dir}/backups`, log, nowMs: NOW }), []);
    assert.equal([...Deno.readDirSync(`${dir}/backups`)].length, 1, "nothing pending: no further backup");
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("upgradeSchema() backs up beside a pre-migration backup of the same second instead of failing to start", async () => {
  const { dir, db: path } = await olderDataDir();
  const { lines, log } = capture();
  const db = openDatabase(path);
  try {
    // What another process starting on this data dir in the same second left.
    await Deno.mkdir(`${dir}/backups`);
    const taken = `${dir}/backups/pre-migrate-0.0.9-0.1.0-20261130T130501Z.sqlite`;
    await Deno.writeTextFile(taken, "another process's copy");
    const applied = await upgradeSchema(db, {
      backupDir: `${dir}/backups`,
      log,
      nowMs: NOW,
      version: "0.1.0",
    });
    assert.deepEqual(applied, [MIGRATIONS.at(-1)!.name]);
    const file = `${dir}/backups/pre-migrate-0.0.9-0.1.0-20261130T130501Z-2.sqlite`;
    assert.equal(lines.find((l) => l.msg === "database backed up before migrating")!.file, file);
    assert.equal(await Deno.readTextFile(taken), "another process's copy", "the other copy is untouched");
    const copy = new DatabaseSync(file, { readOnly: true });
    assert.equal(schemaState(copy).pending.length, 1, "the backup is the database as it was before");
    copy.close();
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("upgradeSchema() takes no backup of a new, empty database", async () => {
  const dir = await Deno.makeTempDir();
  const { lines, log } = capture();
  const db = openDatabase(`${dir}/dci.sqlite`);
  try {
    const applied = await upgradeSchema(db, { backupDir: `${dir}/backups`, log, nowMs: NOW });
    assert.equal(applied.length, MIGRATIONS.length);
    assert.equal(lines.length, 0);
    assert.equal(await Deno.stat(`${dir}/backups`).catch(() => undefined), undefined);
    assert.equal(schemaState(db).migratedBy, VERSION);
  } finally {
    db.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("upgradeSchema() refuses a database a newer binary migrated, or with a migration it lacks (numbers need not be contiguous)", async () => {
  const db = openDatabase(":memory:");
  try {
    await upgradeSchema(db, { log: capture().log, nowMs: NOW, version: "0.3.0" });
    await assert.rejects(
      upgradeSchema(db, { log: capture().log, nowMs: NOW, version: "0.2.5" }),
      (e) =>
        e instanceof DatabaseVersionError && e.exitCode === 2 &&
        e.message.includes("migrated by dci-server 0.3.0") && e.message.includes("dci-server 0.2.5"),
    );
    // A migration this binary does not carry, numbered past a gap (0011 and 0012 were never used), and past the
    // last one it has.
    const future = MIGRATIONS.at(-1)!.version + 7;
    const withGap = [...MIGRATIONS, {
      version: future,
      name: `${future}_future`,
      sql: "CREATE TABLE future (x)",
    }];
    migrate(db, withGap);
    await assert.rejects(
      upgradeSchema(db, { log: capture().log, nowMs: NOW, version: "0.3.0" }),
      (e) => e instanceof DatabaseVersionError && e.message.includes(`${future}_future`),
    );
    assert.deepEqual(
      await upgradeSchema(db, { log: capture().log, nowMs: NOW, version: "0.3.0", migrations: withGap }),
      [],
    );
  } finally {
    db.close();
  }
});

// The SQLite file's schema upgrade at start: a PostgreSQL server does not open the data dir's SQLite file.
Deno.test({
  name: "serve refuses a database migrated by a newer version: both versions named, exit code 2",
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-newer-" });
  try {
    const db = openDatabase(`${dir}/dci.sqlite`);
    await upgradeSchema(db, { log: capture().log, nowMs: NOW, version: "99.1.0" });
    db.close();
    const r = await runCliProcess(["serve", "--port", "0"], { DCI_DATA_DIR: dir });
    assert.equal(r.code, 2, r.stdout);
    assert.match(r.stderr, /migrated by dci-server 99\.1\.0/);
    assert.ok(r.stderr.includes(`this binary is dci-server ${VERSION}`), r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// The SQLite file's backup before its migrations: a PostgreSQL server does not open the data dir's SQLite file.
Deno.test({
  name: "serve backs up a database with data before applying its pending migrations, and logs where",
  ignore: TEST_BACKEND === "postgres",
}, async () => {
  const { dir } = await olderDataDir();
  const server = await startServerProcess({ dataDir: dir });
  try {
    const line = await server.waitForLog((l) => l.msg === "database backed up before migrating");
    assert.match(
      String(line.file),
      new RegExp(
        `^${dir}/backups/pre-migrate-0\\.0\\.9-${VERSION.replaceAll(".", "\\.")}-\\d{8}T\\d{6}Z\\.sqlite$`,
      ),
    );
    assert.equal(line.from, "0.0.9");
    assert.equal(line.to, VERSION);
    assert.ok((await Deno.stat(String(line.file))).size > 0);
    const applied = server.logs.find((l) => l.msg === "migrations applied")!;
    assert.deepEqual(applied.migrations, [MIGRATIONS.at(-1)!.name]);
    assert.ok(server.logs.indexOf(line) < server.logs.indexOf(applied), "the backup comes first");
  } finally {
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
