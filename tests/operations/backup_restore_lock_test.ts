/**
 * `dci-server backup` holds the data dir's shared lock while it reads the database: a restore is refused until the
 * backup is done (it would replace the database under the copy, whose connection, closing, would delete the new
 * database's WAL), and a backup is refused while a restore runs.
 */
import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { runCliProcess } from "../helpers/server.ts";
import { LOOPBACK_ONLY, RUN_FLAGS } from "../helpers/runtime.ts";
import { holdExclusiveLock } from "../../src/db/data_dir_lock.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** A data dir migrated by the CLI and a backup of it (to restore), then padded so that a backup of it takes a while. */
async function paddedDataDir(): Promise<{ dir: string; data: string; backup: string }> {
  const dir = await Deno.makeTempDir({ prefix: "dci-backup-lock-" });
  const data = `${dir}/data`;
  const migrated = await runCliProcess(["migrate"], { DCI_DATA_DIR: data });
  assert.equal(migrated.code, 0, migrated.stderr);
  const made = await runCliProcess(["backup", `${dir}/small.sqlite`], { DCI_DATA_DIR: data });
  assert.equal(made.code, 0, made.stderr);
  const db = new DatabaseSync(`${data}/dci.sqlite`);
  db.exec(`CREATE TABLE pad (b BLOB);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 48)
    INSERT INTO pad SELECT randomblob(1048576) FROM n;`);
  db.close();
  return { dir, data, backup: `${dir}/small.sqlite` };
}

Deno.test("restore --replace is refused while a backup of the data dir is still reading it", async () => {
  const { dir, data, backup } = await paddedDataDir();
  const target = `${dir}/out/slow.sqlite`;
  await Deno.mkdir(`${dir}/out`);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...LOOPBACK_ONLY, ...RUN_FLAGS, MAIN, "backup", target],
    env: { DCI_DATA_DIR: data, DCI_LOG_LEVEL: "error" },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let paused = false;
  try {
    // Paused once its copy has begun (the partial file grows), as a multi-GB backup would still be copying. A
    // backup that ended before this loop saw it fails the test rather than leaving the loop waiting for ever.
    for (const end = Date.now() + 60_000;;) {
      assert.ok(Date.now() < end, "the backup's partial file never appeared");
      const partial = [...Deno.readDirSync(`${dir}/out`)].find((e) =>
        e.name.startsWith("slow.sqlite.partial-")
      );
      if (partial && Deno.statSync(`${dir}/out/${partial.name}`).size > 0) break;
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill("SIGSTOP");
    paused = true;
    const refused = await runCliProcess(["restore", backup, "--replace"], { DCI_DATA_DIR: data });
    assert.equal(refused.code, 1, refused.stdout);
    assert.match(
      refused.stderr,
      new RegExp(`data dir ${data} open .*stop it or let it finish, then restore`),
    );
    const kept = new DatabaseSync(`${data}/dci.sqlite`, { readOnly: true });
    assert.ok(kept.prepare("SELECT 1 FROM pad").get(), "the database being backed up is still there");
    kept.close();

    child.kill("SIGCONT");
    paused = false;
    const done = await child.output();
    assert.equal(done.code, 0, new TextDecoder().decode(done.stderr));
    // The backup released the lock as it ended: the restore goes through now.
    const restored = await runCliProcess(["restore", backup, "--replace"], { DCI_DATA_DIR: data });
    assert.equal(restored.code, 0, restored.stderr);
  } finally {
    if (paused) child.kill("SIGCONT");
    await child.status;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("backup is refused while a restore holds the data dir, naming the restore", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-backup-lock-" });
  const data = `${dir}/data`;
  try {
    const migrated = await runCliProcess(["migrate"], { DCI_DATA_DIR: data });
    assert.equal(migrated.code, 0, migrated.stderr);
    const lock = holdExclusiveLock(data);
    try {
      const r = await runCliProcess(["backup", `${dir}/during.sqlite`], { DCI_DATA_DIR: data });
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stderr, /is being restored \(dci-server restore\): take the backup once that is done/);
      assert.equal(await Deno.stat(`${dir}/during.sqlite`).catch(() => undefined), undefined);
    } finally {
      lock.release();
    }
    const r = await runCliProcess(["backup", `${dir}/after.sqlite`], { DCI_DATA_DIR: data });
    assert.equal(r.code, 0, r.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
