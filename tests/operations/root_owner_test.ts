/**
 * An operator's root command on a data dir the service's user owns (`sudo dci-server backup`, `restore`, with
 * systemd's DynamicUser): what it makes there stays the service's, so the server still starts (its pre-migration
 * backup writes into the backup dir) and opens the restored database. Needs root to give files away: ignored
 * otherwise.
 */
import assert from "node:assert/strict";
import { runCliProcess, startServerProcess } from "../helpers/server.ts";

const SERVICE_UID = 65534;

Deno.test({
  name:
    "root's backup and restore on a data dir another user owns leave the backup dir, backups and the database that user's",
  ignore: Deno.uid() !== 0,
}, async () => {
  const root = await Deno.makeTempDir({ prefix: "dci-owner-" });
  try {
    const source = `${root}/source`;
    await (await startServerProcess({ dataDir: source })).stop();
    const file = `${root}/copy.sqlite`;
    const copied = await runCliProcess(["backup", file, "--data-dir", source]);
    assert.equal(copied.code, 0, copied.stderr);

    const served = `${root}/served`;
    await Deno.mkdir(served, { mode: 0o700 });
    await Deno.chown(served, SERVICE_UID, SERVICE_UID);
    const uid = async (path: string) => (await Deno.stat(path)).uid;

    const restored = await runCliProcess(["restore", file, "--data-dir", served]);
    assert.equal(restored.code, 0, restored.stderr);
    assert.equal(await uid(`${served}/dci.sqlite`), SERVICE_UID);
    // The lock file the restore made in a dir no server had used yet, and the KV file the next command makes.
    assert.equal(await uid(`${served}/serve.lock`), SERVICE_UID);
    const listed = await runCliProcess(["sender", "list", "--data-dir", served]);
    assert.equal(listed.code, 0, listed.stderr);
    assert.equal(await uid(`${served}/kv.sqlite3`), SERVICE_UID);

    const backup = await runCliProcess(["backup", "--data-dir", served, "--json"]);
    assert.equal(backup.code, 0, backup.stderr);
    assert.equal(await uid(`${served}/backups`), SERVICE_UID);
    assert.equal(await uid(JSON.parse(backup.stdout).path), SERVICE_UID);

    const replaced = await runCliProcess(["restore", file, "--data-dir", served, "--replace", "--json"]);
    assert.equal(replaced.code, 0, replaced.stderr);
    assert.equal(await uid(`${served}/dci.sqlite`), SERVICE_UID);
    for (const e of Deno.readDirSync(`${served}/backups`)) {
      assert.equal(await uid(`${served}/backups/${e.name}`), SERVICE_UID, e.name);
    }
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name:
    "root's backup and restore leave a backup dir the operator made elsewhere (root, a shared group) as it was; one inside the data dir goes to the server's user",
  ignore: Deno.uid() !== 0,
}, async () => {
  const root = await Deno.makeTempDir({ prefix: "dci-owner-" });
  try {
    const served = `${root}/served`;
    await (await startServerProcess({ dataDir: served })).stop();
    await Deno.chown(served, SERVICE_UID, SERVICE_UID);
    for (const e of Deno.readDirSync(served)) {
      await Deno.chown(`${served}/${e.name}`, SERVICE_UID, SERVICE_UID);
    }
    // The unit file's set-up: `install -d -g dci-backup -m 2770 /srv/dci-backups`, as root.
    const shared = `${root}/shared-backups`;
    const GROUP = 4242;
    await Deno.mkdir(shared);
    await Deno.chown(shared, 0, GROUP);
    await Deno.chmod(shared, 0o2770);
    const env = { DCI_BACKUP_DIR: shared };
    const backup = await runCliProcess(["backup", "--data-dir", served, "--json"], env);
    assert.equal(backup.code, 0, backup.stderr);
    const kept = await Deno.stat(shared);
    assert.deepEqual([kept.uid, kept.gid, kept.mode! & 0o7777], [0, GROUP, 0o2770]);
    assert.equal((await Deno.stat(JSON.parse(backup.stdout).path)).uid, SERVICE_UID, "the backup it wrote");

    const replaced = await runCliProcess(
      ["restore", JSON.parse(backup.stdout).path, "--data-dir", served, "--replace", "--json"],
      env,
    );
    assert.equal(replaced.code, 0, replaced.stderr);
    const after = await Deno.stat(shared);
    assert.deepEqual([after.uid, after.gid, after.mode! & 0o7777], [0, GROUP, 0o2770]);
    const asides = [...Deno.readDirSync(shared)].filter((e) => !e.name.startsWith("manual-"));
    assert.ok(asides.length > 0, "the replaced database is set aside in the backup dir");
    for (const e of asides) assert.equal((await Deno.stat(`${shared}/${e.name}`)).uid, SERVICE_UID, e.name);

    // The default backup dir, inside the data dir, left root's by a first backup that failed after making it: the
    // next one gives it to the server's user.
    await Deno.mkdir(`${served}/backups`, { mode: 0o700, recursive: true });
    await Deno.chown(`${served}/backups`, 0, 0);
    const again = await runCliProcess(["backup", "--data-dir", served, "--json"]);
    assert.equal(again.code, 0, again.stderr);
    assert.equal((await Deno.stat(`${served}/backups`)).uid, SERVICE_UID);

    // The default backup dir as a link to the operator's dir: the link is not followed to give that dir away.
    await Deno.remove(`${served}/backups`, { recursive: true });
    const linked = `${root}/linked-backups`;
    await Deno.mkdir(linked);
    await Deno.chown(linked, 0, GROUP);
    await Deno.chmod(linked, 0o2770);
    await Deno.symlink(linked, `${served}/backups`);
    const viaLink = await runCliProcess(["backup", "--data-dir", served, "--json"]);
    assert.equal(viaLink.code, 0, viaLink.stderr);
    const target = await Deno.stat(linked);
    assert.deepEqual([target.uid, target.gid], [0, GROUP]);
    assert.equal((await Deno.stat(JSON.parse(viaLink.stdout).path)).uid, SERVICE_UID, "the backup it wrote");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test({
  name:
    "root's first load into an empty data dir another user owns leaves the database, KV and lock files that user's",
  ignore: Deno.uid() !== 0,
}, async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-owner-" });
  try {
    await Deno.chmod(dir, 0o700);
    await Deno.chown(dir, SERVICE_UID, SERVICE_UID);
    const seeded = await runCliProcess(["registry", "seed", "--demo", "3", "--data-dir", dir]);
    assert.equal(seeded.code, 0, seeded.stderr);
    for (const name of ["dci.sqlite", "kv.sqlite3", "serve.lock"]) {
      assert.equal((await Deno.stat(`${dir}/${name}`)).uid, SERVICE_UID, name);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
