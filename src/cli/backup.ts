/** `dci-server backup`, `dci-server restore` and `dci-server version`: the operator's side of backups and upgrades. */
import { CliFailure, type Command, type CommandTree, UsageError } from "./cli.ts";
import { dataPaths, requireDatabase } from "../deps.ts";
import { backupDatabase, fileStamp, pruneBackups, syncFile } from "../db/backup.ts";
import { BackupInvalidError, checkBackup } from "../db/backup_check.ts";
import {
  DataDirBusyError,
  type DataDirLock,
  holdExclusiveLock,
  holdServeLock,
  LOCK_FILE,
} from "../db/data_dir_lock.ts";
import { giveToDataDirOwner, makingBackupDir, prepareDataDir } from "../db/data_dir.ts";
import { loadKeyEncryption } from "../keys/kek.ts";
import { DENO_VERSION, VERSION } from "../version.ts";

/** Backups of a PostgreSQL database are the database's own (README, High availability). */
function refuseOnPostgres(databaseUrl: string, verb: string): void {
  if (databaseUrl === "") return;
  throw new UsageError(
    `DCI_DATABASE_URL is set: ${verb} the PostgreSQL database with its own tools (pg_dump / pg_restore, base ` +
      "backups with WAL archiving, or the managed service's snapshots); backup and restore work on the " +
      "embedded SQLite database",
  );
}

const backupCommand: Command = {
  summary: "Take a consistent backup of the database, also while the server serves",
  usage: "[FILE]",
  args: [0, 1],
  examples: ["backup", "backup /srv/backups/dci-before-upgrade.sqlite --json"],
  async run({ config, positionals, print }) {
    const cfg = config();
    const paths = dataPaths(cfg);
    refuseOnPostgres(cfg.databaseUrl, "back up");
    if (cfg.dataDir === ":memory:") throw new UsageError("an in-memory data dir has nothing to back up");
    await requireDatabase(cfg);
    // Named apart from the scheduled ones (dci-<time>.sqlite), which retention prunes: a manual backup is kept.
    const intoBackupDir = positionals[0] === undefined;
    const target = positionals[0] ?? `${paths.backups}/manual-${fileStamp(Date.now())}.sqlite`;
    const lock = holdForBackup(cfg.dataDir);
    try {
      // What killed backups left in the backup dir (each a partial copy, secrets included): scheduled backups
      // clear it too, but a server without DCI_BACKUP_CRON never runs them.
      if (intoBackupDir) {
        await pruneBackups(paths.backups, Infinity).catch((err) => {
          if (!(err instanceof Deno.errors.NotFound)) throw err;
        });
      }
      const copy = () => backupDatabase(paths.db, target);
      const result = intoBackupDir ? await makingBackupDir(cfg.dataDir, paths.backups, copy) : await copy();
      if (intoBackupDir) await giveToDataDirOwner(cfg.dataDir, [result.path]);
      print.done(`backup written: ${result.path} (${result.bytes} bytes)`, result);
      print.note(
        "It holds the server's secrets as the data dir does (sealed when DCI_KEY_ENCRYPTION_KEY is set): " +
          "keep it as safe as the data dir, and keep the key-encryption key apart from it.",
      );
    } catch (err) {
      if (err instanceof Deno.errors.NotFound || err instanceof Deno.errors.AlreadyExists) {
        throw new CliFailure((err as Error).message);
      }
      throw err;
    } finally {
      lock.release();
    }
  },
};

/**
 * The data dir's shared lock, held while a backup reads its database, as every process that opens it holds it: a
 * restore would replace the database (and its WAL) under the copy, and the copy's connection, closing, would delete
 * the new database's WAL.
 */
function holdForBackup(dataDir: string): DataDirLock {
  try {
    return holdServeLock(dataDir);
  } catch (err) {
    if (err instanceof DataDirBusyError) {
      throw new CliFailure(
        `the data dir ${dataDir} is being restored (dci-server restore): take the backup once that is done`,
      );
    }
    throw new CliFailure(
      `the data dir's lock file ${dataDir}/${LOCK_FILE} cannot be used: ${(err as Error).message}`,
    );
  }
}

const restoreCommand: Command = {
  summary: "Restore a backup into a data dir (refused while a server runs on it)",
  usage: "FILE [--replace]",
  args: [1, 1],
  options: {
    replace: {
      type: "boolean",
      description:
        "Replace the database the data dir holds (it is backed up first, as pre-restore-<time>.sqlite)",
    },
  },
  examples: [
    "restore dci-20261130T021500Z.sqlite --data-dir /var/lib/dci",
    "restore backup.sqlite --data-dir /var/lib/dci --replace --json",
  ],
  async run({ config, positionals, values, print }) {
    const cfg = config();
    refuseOnPostgres(cfg.databaseUrl, "restore");
    if (cfg.dataDir === ":memory:") throw new UsageError("restore needs a data dir on disk (--data-dir)");
    const file = positionals[0];
    const paths = dataPaths(cfg);
    let summary;
    let kept: string | undefined;
    let damaged: string | undefined;
    try {
      summary = checkBackup(file, await loadKeyEncryption(cfg));
    } catch (err) {
      if (err instanceof BackupInvalidError) throw new CliFailure(err.message);
      throw err;
    }
    await prepareDataDir(cfg.dataDir, []);
    let lock;
    try {
      lock = holdExclusiveLock(cfg.dataDir);
    } catch (err) {
      if (err instanceof DataDirBusyError) throw new CliFailure(err.message);
      throw err;
    }
    try {
      // Copies a restore killed before its rename left (each a whole database, its secrets included): no process
      // can be using one while this restore holds the data dir alone.
      await removeLeftCopies(cfg.dataDir);
      const occupied = await Deno.stat(paths.db).then((s) => s.size > 0, () => false);
      if (occupied && !values.replace) {
        throw new CliFailure(
          `${paths.db} already holds a database: pass --replace to replace it (a copy is kept)`,
        );
      }
      // The backup is copied into the data dir whole (synced) before the database there is touched: a copy that
      // fails (a full disk) or is interrupted leaves that database as it was.
      const incoming = (await backupDatabase(file, `${paths.db}.restoring-${fileStamp(Date.now())}`)).path;
      try {
        // Under root: the restored database (and the backup dir the copy set aside goes to) stay the server's.
        await giveToDataDirOwner(cfg.dataDir, [incoming]);
        const aside = occupied
          ? await makingBackupDir(cfg.dataDir, paths.backups, () => setAside(paths))
          : undefined;
        kept = aside?.path;
        damaged = aside?.damaged;
        if (kept) await giveToDataDirOwner(cfg.dataDir, [kept, `${kept}-wal`]);
        // The old database's WAL must not meet the new file; the file itself is replaced by the rename, in one
        // step: a restore killed at any point leaves a database at paths.db, the old (without its WAL: the copy
        // set aside has it) or the new, never none (a next start would make an empty one).
        await removeAll([`${paths.db}-wal`, `${paths.db}-shm`, `${paths.db}-journal`]);
        await Deno.rename(incoming, paths.db);
        // The rename made durable: after a power loss the directory must not name the old database again.
        await syncFile(cfg.dataDir).catch(
          () => {/* a directory cannot be opened for sync on every platform */},
        );
      } catch (err) {
        await removeAll([incoming]);
        throw kept
          ? new CliFailure(
            `restore failed (${
              (err as Error).message
            }); the database is unchanged, and a copy of it is at ${kept}`,
          )
          : err;
      }
      // The KV file holds only wake-ups for the database it served; the new server derives its work from SQLite.
      await removeAll([paths.kv, `${paths.kv}-wal`, `${paths.kv}-shm`]);
    } finally {
      lock.release();
    }
    const more = [
      `  migrated by: ${summary.migratedBy || "(not recorded)"}; migrations: ${summary.applied.length}` +
      (summary.pending.length ? `; to apply at the next start: ${summary.pending.join(", ")}` : ""),
      `  rows: ${Object.entries(summary.counts).map(([t, n]) => `${t} ${n}`).join(", ")}`,
      ...(summary.kekIds.length
        ? [`  secrets sealed with key-encryption key ${summary.kekIds.join(", ")}`]
        : []),
      ...(kept
        ? [
          damaged === undefined
            ? `the database that was there is kept as ${kept}`
            : `the database that was there could not be read (${damaged}); its files are kept as they were, as ${kept}`,
        ]
        : []),
    ];
    print.done(`restored ${file} into ${cfg.dataDir}`, {
      restored: file,
      data_dir: cfg.dataDir,
      kept: kept ?? null,
      ...(damaged === undefined ? {} : { kept_damaged: damaged }),
      migrated_by: summary.migratedBy || null,
      applied: summary.applied,
      pending: summary.pending,
      counts: summary.counts,
      kek_ids: summary.kekIds,
    }, { more });
  },
};

/**
 * Keeps a copy of the database being replaced in the backup dir (its WAL included); answers its path. A database
 * SQLite cannot copy (damaged: often why it is being restored) is kept as its files were, byte for byte, with
 * `damaged` saying why.
 */
async function setAside(
  paths: { db: string; backups: string },
): Promise<{ path: string; damaged?: string }> {
  const target = `${paths.backups}/pre-restore-${fileStamp(Date.now())}.sqlite`;
  try {
    return { path: (await backupDatabase(paths.db, target)).path };
  } catch (err) {
    if (err instanceof Deno.errors.AlreadyExists) throw err;
    await removeAll([target]);
    for (const suffix of ["", "-wal"]) {
      await Deno.copyFile(`${paths.db}${suffix}`, `${target}${suffix}`).catch((e) => {
        if (!(suffix && e instanceof Deno.errors.NotFound)) throw e;
      });
      await Deno.chmod(`${target}${suffix}`, 0o600).catch(() => {});
    }
    return { path: target, damaged: (err as Error).message };
  }
}

/** The copies (and their partials) of restores killed before their rename, in `dataDir`. */
async function removeLeftCopies(dataDir: string): Promise<void> {
  const left: string[] = [];
  for await (const e of Deno.readDir(dataDir)) {
    if (e.isFile && /^dci\.sqlite\.restoring-/.test(e.name)) left.push(`${dataDir}/${e.name}`);
  }
  await removeAll(left);
}

async function removeAll(files: string[]): Promise<void> {
  for (const f of files) {
    await Deno.remove(f).catch((err) => {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    });
  }
}

const versionCommand: Command = {
  summary: "Print the version (also: dci-server --version)",
  examples: ["version", "version --json"],
  run({ print }) {
    print.done(`dci-server ${VERSION} (deno ${DENO_VERSION})`, { version: VERSION, deno: DENO_VERSION });
    return Promise.resolve();
  },
};

/** The backup, restore and version commands. */
export const backupCommands: CommandTree = {
  backup: backupCommand,
  restore: restoreCommand,
  version: versionCommand,
};
