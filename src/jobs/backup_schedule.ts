/**
 * Scheduled backups (DCI_BACKUP_CRON): a consistent copy of the database into DCI_BACKUP_DIR, written by a
 * Web Worker with its own connection so the worker isolate keeps running meanwhile, then retention
 * (DCI_BACKUP_KEEP newest `dci-<stamp>.sqlite` files kept).
 */
import type { Config } from "../config.ts";
import type { Deps } from "../deps.ts";
import { dataPaths } from "../deps.ts";
import { backupPath, pruneBackups } from "../db/backup.ts";
import type { BackupJob, BackupJobResult } from "./backup_worker.ts";
import type { Schedule } from "./schedules.ts";

/** Copies the database at `source` to `target` in a Web Worker; resolves with the file written. */
export function backupInWorker(source: string, target: string): Promise<{ path: string; bytes: number }> {
  const worker = new Worker(new URL("./backup_worker.ts", import.meta.url), { type: "module" });
  return new Promise<{ path: string; bytes: number }>((resolve, reject) => {
    worker.onmessage = (e: MessageEvent<BackupJobResult>) => {
      const r = e.data;
      if (r.ok) resolve({ path: r.path, bytes: r.bytes });
      else reject(new Error(r.error));
    };
    worker.onerror = (e) => {
      e.preventDefault();
      reject(new Error(`backup worker failed: ${e.message}`));
    };
    worker.postMessage({ source, target } satisfies BackupJob);
  }).finally(() => worker.terminate());
}

const BACKUPS_HELP = "Scheduled backups by result (alert on failed, or on ok not growing)";

/**
 * One scheduled backup: the copy, then retention. Logs what it wrote and deleted and counts the result in
 * `dci_backups_total`; throws when it fails (the scheduler logs it).
 */
export async function runScheduledBackup(deps: Deps): Promise<void> {
  const paths = dataPaths(deps.config);
  try {
    // First the partial files of killed backups (each a copy of the database's secrets), even when this one fails.
    const stale = await pruneBackups(paths.backups, Infinity).catch((err) => {
      if (err instanceof Deno.errors.NotFound) return [];
      throw err;
    });
    const written = await backupInWorker(paths.db, backupPath(paths.backups, deps.clock.now()));
    const pruned = [...stale, ...await pruneBackups(paths.backups, deps.config.backupKeep)];
    deps.metrics.inc("dci_backups_total", BACKUPS_HELP, { result: "ok" });
    deps.log.info("scheduled backup written", { file: written.path, bytes: written.bytes, pruned });
  } catch (err) {
    deps.metrics.inc("dci_backups_total", BACKUPS_HELP, { result: "failed" });
    throw err;
  }
}

/** The backup schedule when DCI_BACKUP_CRON is set (and the database is on disk), else none. */
export function backupSchedules(config: Config): Schedule[] {
  if (!config.backupCron || config.dataDir === ":memory:") return [];
  return [{ name: "database backup", schedule: config.backupCron, run: runScheduledBackup }];
}

/** The backup dir of DCI_BACKUP_CRON cannot be made or written. */
export class BackupDirError extends Error {}

/**
 * With DCI_BACKUP_CRON, on the process whose worker runs it: the backup dir is made and written to now, so a
 * read-only (systemd's ReadWritePaths= left out) or mistyped one stops the start naming it (BackupDirError),
 * rather than failing every night's backup from the first.
 */
export async function assertBackupDirWritable(cfg: Config): Promise<void> {
  if (!cfg.worker || backupSchedules(cfg).length === 0) return;
  const dir = dataPaths(cfg).backups;
  const probe = `${dir}/.write-check-${Deno.pid}`;
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (err) {
    throw new BackupDirError(
      `the backup dir ${dir} (DCI_BACKUP_DIR, where DCI_BACKUP_CRON writes) cannot be written: ${
        (err as Error).message
      }`,
    );
  }
}
