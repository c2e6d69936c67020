/** Backups, their checks before a restore, retention, the data-dir lock and the backup schedule. */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { randomBytes } from "node:crypto";
import { testConfig } from "../../src/config.ts";
import { closeDeps, type Deps, openSqliteDeps, type SqliteDeps } from "../../src/deps.ts";
import { fakeClock } from "../../src/clock.ts";
import { createLogger, silentLogger } from "../../src/obs/log.ts";
import { backupDatabase, pruneBackups } from "../../src/db/backup.ts";
import { BackupInvalidError, checkBackup } from "../../src/db/backup_check.ts";
import { DatabaseVersionError } from "../../src/db/schema_version.ts";
import { migrate, MIGRATIONS } from "../../src/db/migrate.ts";
import { DataDirBusyError, holdExclusiveLock, holdServeLock } from "../../src/db/data_dir_lock.ts";
import { backupSchedules, runScheduledBackup } from "../../src/jobs/backup_schedule.ts";
import { schedulesFor } from "../../src/jobs/schedules.ts";
import { parseKek } from "../../src/keys/kek.ts";
import { ConfigError } from "../../src/config.ts";

/** Opens deps on a fresh data dir (migrated, with a server key); `env` adds settings. */
async function diskDeps(
  settings: Parameters<typeof testConfig>[0] = {},
): Promise<{ -readonly [K in keyof SqliteDeps]: SqliteDeps[K] } & { dir: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dci-backup-" });
  const deps = await openSqliteDeps(testConfig({ dataDir: `${dir}/data`, ...settings }), {
    log: silentLogger,
    clock: fakeClock(Date.parse("2026-11-30T13:05:01Z")),
  });
  return Object.assign(deps, { dir });
}

async function done(deps: Deps & { dir: string }): Promise<void> {
  closeDeps(deps);
  await Deno.remove(deps.dir, { recursive: true });
}

const noKek = { current: undefined, previous: undefined };

Deno.test("backupDatabase() writes an owner-only, self-contained copy, leaves no partial file, and refuses to overwrite", async () => {
  const deps = await diskDeps();
  try {
    deps.db.exec("CREATE TABLE drill (v TEXT); INSERT INTO drill VALUES ('kept')");
    const target = `${deps.dir}/out/copy.sqlite`;
    const result = await backupDatabase(`${deps.dir}/data/dci.sqlite`, target);
    assert.equal(result.path, target);
    assert.equal((await Deno.stat(target)).mode! & 0o777, 0o600);
    assert.deepEqual([...Deno.readDirSync(`${deps.dir}/out`)].map((e) => e.name), ["copy.sqlite"]);
    const copy = new DatabaseSync(target, { readOnly: true });
    assert.equal(
      (copy.prepare("PRAGMA journal_mode").get() as { journal_mode: string }).journal_mode,
      "delete",
    );
    assert.equal((copy.prepare("SELECT v FROM drill").get() as { v: string }).v, "kept");
    copy.close();
    await assert.rejects(backupDatabase(deps.db, target), Deno.errors.AlreadyExists);
    await assert.rejects(
      backupDatabase(`${deps.dir}/missing.sqlite`, `${deps.dir}/x.sqlite`),
      Deno.errors.NotFound,
    );
    assert.ok(
      !(await Deno.stat(`${deps.dir}/missing.sqlite`).catch(() => undefined)),
      "no empty database made",
    );
  } finally {
    await done(deps);
  }
});

Deno.test("pruneBackups() keeps the newest N dci-<stamp>.sqlite files and never touches other files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const names = [
      "dci-20261128T030000Z.sqlite",
      "dci-20261129T030000Z.sqlite",
      "dci-20261130T030000Z.sqlite",
      "pre-migrate-0.1.0-0.2.0-20261101T000000Z.sqlite",
      "dci-operator-copy.sqlite",
    ];
    for (const n of names) await Deno.writeFile(`${dir}/${n}`, new Uint8Array([1]));
    const pruned = await pruneBackups(dir, 2);
    assert.deepEqual(pruned, [`${dir}/dci-20261128T030000Z.sqlite`]);
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), names.slice(1).sort());
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("pruneBackups() removes the partial files of a killed backup once unchanged for an hour", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const names = [
      "dci-20261130T030000Z.sqlite.partial-0a1b2c3d",
      "dci-20261130T030000Z.sqlite.partial-0a1b2c3d-journal",
      "manual.sqlite.partial-deadbeef",
      // A copy killed before its switch to the rollback journal leaves its WAL and shared memory.
      "manual.sqlite.partial-deadbeef-wal",
      "manual.sqlite.partial-deadbeef-shm",
      "dci-20261201T030000Z.sqlite.partial-12345678", // being written: recent
      "notes.partial-0a1b2c3d", // not a backup's
    ];
    for (const n of names) await Deno.writeFile(`${dir}/${n}`, new Uint8Array([1]));
    const old = new Date(Date.now() - 2 * 60 * 60_000);
    for (const n of [...names.slice(0, 5), names[6]]) await Deno.utime(`${dir}/${n}`, old, old);
    // Partials alone (a manual backup's clean-up) leave the backups.
    await Deno.writeFile(`${dir}/dci-20261101T030000Z.sqlite`, new Uint8Array([1]));
    const pruned = await pruneBackups(dir, Infinity);
    assert.deepEqual(pruned, names.slice(0, 5).map((n) => `${dir}/${n}`).sort());
    assert.deepEqual(
      [...Deno.readDirSync(dir)].map((e) => e.name).sort(),
      [names[5], names[6], "dci-20261101T030000Z.sqlite"].sort(),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkBackup() accepts a dci-server backup and summarises it", async () => {
  const deps = await diskDeps();
  try {
    const file = `${deps.dir}/ok.sqlite`;
    await backupDatabase(deps.db, file);
    const summary = checkBackup(file, noKek);
    assert.equal(summary.unknown.length, 0);
    assert.equal(summary.pending.length, 0);
    assert.ok(summary.applied.includes("0001_init"));
    assert.equal(summary.counts.transactions, 0);
    assert.deepEqual(summary.kekIds, []);
  } finally {
    await done(deps);
  }
});

Deno.test("checkBackup() accepts a backup of a schema before migration 0013 (no outbound secrets column), its migrations pending", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-backup-old-" });
  try {
    const file = `${dir}/old.sqlite`;
    const db = new DatabaseSync(file);
    migrate(db, MIGRATIONS.filter((m) => m.version <= 10));
    db.close();
    const summary = checkBackup(file, noKek);
    assert.ok(summary.applied.includes("0010_jwks_key_ids"), summary.applied.join());
    assert.ok(summary.pending.includes("0013_sender_settings"), summary.pending.join());
    assert.deepEqual(summary.kekIds, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("checkBackup() refuses a file that is not a database, a corrupted one, and a database of another program", async () => {
  const deps = await diskDeps();
  try {
    const text = `${deps.dir}/notes.sqlite`;
    await Deno.writeTextFile(text, "not a database at all ".repeat(100));
    assert.throws(
      () => checkBackup(text, noKek),
      (e) => e instanceof BackupInvalidError && /not a SQLite/.test(e.message),
    );

    const file = `${deps.dir}/corrupt.sqlite`;
    await backupDatabase(deps.db, file);
    const bytes = await Deno.readFile(file);
    // Garbage over every page but the first (the schema): the tables' b-trees no longer hold together.
    for (let i = 4096; i < bytes.length; i += 97) bytes[i] = (bytes[i] + 0x5a) & 0xff;
    await Deno.writeFile(file, bytes);
    assert.throws(
      () => checkBackup(file, noKek),
      (e) => e instanceof BackupInvalidError && /integrity/.test(e.message),
    );

    const other = `${deps.dir}/other.sqlite`;
    const db = new DatabaseSync(other);
    db.exec("CREATE TABLE notes (v TEXT)");
    db.close();
    assert.throws(
      () => checkBackup(other, noKek),
      (e) => e instanceof BackupInvalidError && /not a dci-server database/.test(e.message),
    );
  } finally {
    await done(deps);
  }
});

Deno.test("checkBackup() refuses a backup that a newer binary migrated, naming both versions", async () => {
  const deps = await diskDeps();
  try {
    deps.db.exec("UPDATE schema_meta SET value = '99.0.0' WHERE key = 'migrated_by'");
    const file = `${deps.dir}/newer.sqlite`;
    await backupDatabase(deps.db, file);
    assert.throws(
      () => checkBackup(file, noKek),
      (e) =>
        e instanceof DatabaseVersionError && e.exitCode === 2 && /99\.0\.0/.test(e.message) &&
        /0\.1\.0|this binary is/.test(e.message),
    );
  } finally {
    await done(deps);
  }
});

Deno.test("checkBackup() refuses secrets sealed with a key-encryption key this configuration lacks, and names it", async () => {
  const kek = randomBytes(32).toString("base64");
  const deps = await diskDeps({ keyEncryptionKey: kek });
  try {
    const file = `${deps.dir}/sealed.sqlite`;
    await backupDatabase(deps.db, file);
    const id = parseKek(kek, "test").id;
    assert.throws(
      () => checkBackup(file, noKek),
      (e) => e instanceof BackupInvalidError && e.message.includes(id),
    );
    const other = parseKek(randomBytes(32).toString("base64"), "other");
    assert.throws(
      () => checkBackup(file, { current: other }),
      (e) => e instanceof BackupInvalidError && e.message.includes(id),
    );
    assert.deepEqual(checkBackup(file, { current: other, previous: parseKek(kek, "test") }).kekIds, [id]);
  } finally {
    await done(deps);
  }
});

Deno.test("data-dir lock: servers share it, a restore is refused while any holds it, and a server while a restore does", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const a = holdServeLock(dir);
    const b = holdServeLock(dir);
    assert.throws(
      () => holdExclusiveLock(dir),
      (e) =>
        e instanceof DataDirBusyError && /a server or a command .* has the data dir .* open/.test(e.message),
    );
    a.release();
    assert.throws(() => holdExclusiveLock(dir), DataDirBusyError);
    b.release();
    b.release();
    const restore = holdExclusiveLock(dir);
    assert.throws(
      () => holdServeLock(dir),
      (e) => e instanceof DataDirBusyError && /being restored/.test(e.message),
    );
    restore.release();
    holdServeLock(dir).release();
    assert.equal((await Deno.stat(`${dir}/serve.lock`)).mode! & 0o777, 0o600);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("data-dir lock: a server process that is killed leaves no lock behind", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const lockUrl = new URL("../../src/db/data_dir_lock.ts", import.meta.url).href;
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { holdServeLock } from "${lockUrl}"; holdServeLock(${
          JSON.stringify(dir)
        }); console.log("held"); setInterval(() => {}, 1000);`,
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    assert.match((await reader.read()).value ?? "", /held/);
    assert.throws(() => holdExclusiveLock(dir), DataDirBusyError);
    child.kill("SIGKILL");
    await child.status;
    reader.releaseLock();
    await child.stdout.cancel().catch(() => {});
    holdExclusiveLock(dir).release();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("runScheduledBackup() writes a backup from a worker, keeps DCI_BACKUP_KEEP of them, and counts ok and failed runs", async () => {
  const deps = await diskDeps({ backupKeep: "2" });
  const lines: Record<string, unknown>[] = [];
  deps.log = createLogger("info", { sink: (l) => lines.push(JSON.parse(l)) });
  try {
    const dir = `${deps.dir}/data/backups`;
    for (let i = 0; i < 3; i++) {
      await runScheduledBackup(deps);
      (deps.clock as ReturnType<typeof fakeClock>).advance(60_000);
    }
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name).sort(), [
      "dci-20261130T130601Z.sqlite",
      "dci-20261130T130701Z.sqlite",
    ]);
    const last = lines.filter((l) => l.msg === "scheduled backup written").at(-1)!;
    assert.equal(last.file, `${dir}/dci-20261130T130701Z.sqlite`);
    assert.deepEqual(last.pruned, [`${dir}/dci-20261130T130501Z.sqlite`]);
    assert.ok(checkBackup(String(last.file), noKek).applied.length > 0);
    assert.ok(deps.metrics.render().includes('dci_backups_total{result="ok"} 3'));
    // A backup dir that cannot be created (a file is in the way): the run fails and is counted as failed.
    await Deno.writeTextFile(`${deps.dir}/blocked`, "");
    deps.config = { ...deps.config, backupDir: `${deps.dir}/blocked/sub` };
    await assert.rejects(runScheduledBackup(deps));
    assert.ok(deps.metrics.render().includes('dci_backups_total{result="failed"} 1'));
  } finally {
    await done(deps);
  }
});

Deno.test("backupDatabase() refuses a copy that fails SQLite's integrity check, and writes one where hard links fail", async () => {
  const deps = await diskDeps();
  try {
    // A database whose schema reads but one of its table's pages is garbage (a bad sector).
    const damaged = `${deps.dir}/damaged.sqlite`;
    const db = new DatabaseSync(damaged);
    db.exec("PRAGMA page_size = 4096; CREATE TABLE t (v TEXT)");
    const insert = db.prepare("INSERT INTO t VALUES (?)");
    for (let i = 0; i < 2000; i++) insert.run(`${i}`.padEnd(200, "x"));
    db.close();
    const bytes = await Deno.readFile(damaged);
    bytes.fill(0x5a, 50 * 4096, 50 * 4096 + 16);
    await Deno.writeFile(damaged, bytes);
    const out = `${deps.dir}/out`;
    await assert.rejects(backupDatabase(damaged, `${out}/copy.sqlite`), /failed SQLite's integrity check/);
    assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), [], "neither the copy nor a partial");

    // A file system without hard links (exFAT, an SMB share): renamed into place, never over a file.
    const link = Deno.link;
    Deno.link = () =>
      Promise.reject(Object.assign(new Deno.errors.PermissionDenied("link"), { code: "EPERM" }));
    try {
      const written = await backupDatabase(deps.db, `${out}/linkless.sqlite`);
      assert.ok(checkBackup(written.path, noKek).applied.length > 0);
      await assert.rejects(backupDatabase(deps.db, `${out}/linkless.sqlite`), Deno.errors.AlreadyExists);
      assert.deepEqual([...Deno.readDirSync(out)].map((e) => e.name), ["linkless.sqlite"]);
    } finally {
      Deno.link = link;
    }
  } finally {
    await done(deps);
  }
});

Deno.test("runScheduledBackup() deletes a killed backup's stale partial file even when its own copy fails", async () => {
  const deps = await diskDeps();
  try {
    const backups = `${deps.dir}/backups`;
    await Deno.mkdir(backups);
    const stale = `${backups}/dci-20261101T000000Z.sqlite.partial-0123abcd`;
    await Deno.writeTextFile(stale, "a copy of the secrets");
    await Deno.utime(stale, new Date(Date.now() - 2 * 3_600_000), new Date(Date.now() - 2 * 3_600_000));
    // No database where the copy is taken from: the run fails.
    deps.config = { ...deps.config, dataDir: `${deps.dir}/empty`, backupDir: backups };
    await Deno.mkdir(`${deps.dir}/empty`);
    await assert.rejects(runScheduledBackup(deps));
    assert.deepEqual([...Deno.readDirSync(backups)], []);
  } finally {
    await done(deps);
  }
});

Deno.test("backup schedule: registered only with DCI_BACKUP_CRON on a disk data dir; a malformed one is refused", () => {
  assert.deepEqual(backupSchedules(testConfig({ dataDir: "/tmp/x" })), []);
  assert.deepEqual(
    backupSchedules(testConfig({ backupCron: "0 3 * * *" })),
    [],
    "in-memory: nothing to back up",
  );
  const [job] = backupSchedules(testConfig({ dataDir: "/tmp/x", backupCron: "0 3 * * *" }));
  assert.equal(job.schedule, "0 3 * * *");
  assert.ok(
    schedulesFor(testConfig({ dataDir: "/tmp/x", backupCron: "*/15 * * * *" })).some((s) =>
      s.name === job.name
    ),
  );
  assert.throws(
    () => testConfig({ backupCron: "every night" }),
    (e) => e instanceof ConfigError && /DCI_BACKUP_CRON/.test(e.message),
  );
  assert.throws(() => testConfig({ backupKeep: "0" }), ConfigError);
});

Deno.test("dci-server backup without a FILE writes manual-<time>.sqlite, which retention never prunes, and clears a killed backup's partial", async () => {
  const { runCliProcess } = await import("../helpers/server.ts");
  const dir = await Deno.makeTempDir({ prefix: "dci-backup-manual-" });
  try {
    const env = { DCI_DATA_DIR: `${dir}/data` };
    assert.equal((await runCliProcess(["migrate"], env)).code, 0);
    // What a backup killed two hours ago left (no DCI_BACKUP_CRON, so no scheduled backup ever clears it).
    const left = `${dir}/data/backups/manual-20261101T000000Z.sqlite.partial-0a1b2c3d`;
    await Deno.mkdir(`${dir}/data/backups`, { recursive: true });
    await Deno.writeFile(left, new Uint8Array([1]));
    const old = new Date(Date.now() - 2 * 60 * 60_000);
    await Deno.utime(left, old, old);
    const made = await runCliProcess(["backup"], env);
    assert.equal(made.code, 0, made.stderr);
    const names = [...Deno.readDirSync(`${dir}/data/backups`)].map((e) => e.name);
    assert.equal(names.length, 1);
    assert.match(names[0], /^manual-\d{8}T\d{6}Z\.sqlite$/);
    assert.deepEqual(await pruneBackups(`${dir}/data/backups`, 1), []);
    // The name is taken: a second backup to it is refused, the first left whole.
    const again = await runCliProcess(["backup", `${dir}/data/backups/${names[0]}`], env);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /exists/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
