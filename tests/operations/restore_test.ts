/** `dci-server restore` through the real CLI: what it refuses, what it replaces, what it keeps. */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runCliProcess } from "../helpers/server.ts";
import { holdExclusiveLock } from "../../src/db/data_dir_lock.ts";

/** A data dir migrated by the CLI, holding one sender named `name`, and a backup of it. */
async function source(name: string): Promise<{ dir: string; backup: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dci-restore-" });
  const migrated = await runCliProcess(["migrate"], { DCI_DATA_DIR: `${dir}/data` });
  assert.equal(migrated.code, 0, migrated.stderr);
  const db = new DatabaseSync(`${dir}/data/dci.sqlite`);
  db.prepare("INSERT INTO senders (sender_id, name, created_at, updated_at) VALUES (?, ?, ?, ?)")
    .run(name, name, "2026-01-01", "2026-01-01");
  db.close();
  const made = await runCliProcess(["backup", `${dir}/${name}.sqlite`], { DCI_DATA_DIR: `${dir}/data` });
  assert.equal(made.code, 0, made.stderr);
  return { dir, backup: `${dir}/${name}.sqlite` };
}

function senderNames(path: string): string[] {
  const db = new DatabaseSync(path, { readOnly: true });
  try {
    return (db.prepare("SELECT name FROM senders ORDER BY name").all() as Array<{ name: string }>).map((r) =>
      r.name
    );
  } finally {
    db.close();
  }
}

Deno.test("restore refuses a data dir that holds a database unless --replace, which keeps a copy of it first", async () => {
  const a = await source("alpha");
  const b = await source("beta");
  try {
    const target = { DCI_DATA_DIR: `${b.dir}/data` };
    const refused = await runCliProcess(["restore", a.backup], target);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /already holds a database: pass --replace/);
    assert.deepEqual(senderNames(`${b.dir}/data/dci.sqlite`), ["beta"]);

    // What a restore killed before its rename left (a whole copy, and a partial of one): the next one clears it.
    await Deno.copyFile(a.backup, `${b.dir}/data/dci.sqlite.restoring-20260101T000000Z`);
    await Deno.writeTextFile(`${b.dir}/data/dci.sqlite.restoring-20260102T000000Z.partial-1a2b3c4d`, "");
    const replaced = await runCliProcess(["restore", a.backup, "--replace"], target);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.deepEqual(senderNames(`${b.dir}/data/dci.sqlite`), ["alpha"]);
    const kept = /kept as (\S+)/.exec(replaced.stdout)?.[1];
    assert.ok(kept?.startsWith(`${b.dir}/data/backups/pre-restore-`), replaced.stdout);
    assert.deepEqual(senderNames(kept!), ["beta"]);
    assert.match(replaced.stdout, /rows: registrants 0, transactions 0, senders 1/);
    // The copy came into the data dir under a name of its own, then took the database's: none is left over,
    // nor any a killed restore left.
    const left = [...Deno.readDirSync(`${b.dir}/data`)].map((e) => e.name).filter((n) =>
      n.includes("restoring")
    );
    assert.deepEqual(left, []);
  } finally {
    await Deno.remove(a.dir, { recursive: true });
    await Deno.remove(b.dir, { recursive: true });
  }
});

Deno.test("restore --replace over a database SQLite cannot read keeps its files as they were and restores", async () => {
  const a = await source("alpha");
  try {
    const dataDir = `${a.dir}/broken`;
    await Deno.mkdir(dataDir, { mode: 0o700 });
    const garbage = crypto.getRandomValues(new Uint8Array(8192));
    await Deno.writeFile(`${dataDir}/dci.sqlite`, garbage, { mode: 0o600 });
    const r = await runCliProcess(["restore", a.backup, "--replace", "--json"], { DCI_DATA_DIR: dataDir });
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout);
    assert.match(out.kept_damaged, /not a database/);
    assert.deepEqual(await Deno.readFile(out.kept), garbage, "kept byte for byte");
    assert.equal((await Deno.stat(out.kept)).mode! & 0o777, 0o600);
    assert.deepEqual(senderNames(`${dataDir}/dci.sqlite`), ["alpha"]);
  } finally {
    await Deno.remove(a.dir, { recursive: true });
  }
});

Deno.test("restore of a damaged file exits 1 and leaves the data dir as it was", async () => {
  const a = await source("alpha");
  try {
    const bad = `${a.dir}/truncated.sqlite`;
    const bytes = await Deno.readFile(a.backup);
    await Deno.writeFile(bad, bytes.subarray(0, 100));
    const fresh = `${a.dir}/fresh`;
    const r = await runCliProcess(["restore", bad], { DCI_DATA_DIR: fresh });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /truncated\.sqlite (is not a SQLite database|fails SQLite's integrity check)/);
    assert.equal(await Deno.stat(fresh).catch(() => undefined), undefined, "nothing was created");
  } finally {
    await Deno.remove(a.dir, { recursive: true });
  }
});

Deno.test("serve does not start while a restore holds the data dir", async () => {
  const a = await source("alpha");
  const lock = holdExclusiveLock(`${a.dir}/data`);
  try {
    const r = await runCliProcess(["serve", "--port", "0"], { DCI_DATA_DIR: `${a.dir}/data` });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /is being restored/);
  } finally {
    lock.release();
    await Deno.remove(a.dir, { recursive: true });
  }
});

Deno.test("every process that opens the database holds the data dir: a restore waits for a CLI command, and the converse", async () => {
  const { openStorage } = await import("../../src/deps.ts");
  const { loadConfig } = await import("../../src/config.ts");
  const { DataDirBusyError } = await import("../../src/db/data_dir_lock.ts");
  const dir = await Deno.makeTempDir({ prefix: "dci-restore-lock-" });
  try {
    const config = loadConfig({}, { DCI_DATA_DIR: dir, DCI_SEED_DEMO: "false" });
    const opened = await openStorage(config, { migrate: true });
    assert.throws(
      () => holdExclusiveLock(dir),
      DataDirBusyError,
      "a restore while a command has the database",
    );
    await opened.close();
    const restore = holdExclusiveLock(dir);
    await assert.rejects(() => openStorage(config), DataDirBusyError, "a command while a restore runs");
    restore.release();
    await (await openStorage(config)).close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
