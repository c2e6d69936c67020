/**
 * Runs one backup off the main isolate (a scheduled backup of a large database would otherwise stop the queue
 * worker, the notifier and the sweeper for as long as the copy runs): own SQLite connection, one job.
 */
import { backupDatabase } from "../db/backup.ts";

/** The job: copy the database at `source` to `target`. */
export interface BackupJob {
  source: string;
  target: string;
}

/** The answer: the file written, or the error's message. */
export type BackupJobResult = { ok: true; path: string; bytes: number } | { ok: false; error: string };

const scope = self as unknown as {
  onmessage: (e: MessageEvent<BackupJob>) => void;
  postMessage(m: BackupJobResult): void;
};

scope.onmessage = async (e) => {
  try {
    const r = await backupDatabase(e.data.source, e.data.target);
    scope.postMessage({ ok: true, path: r.path, bytes: r.bytes });
  } catch (err) {
    scope.postMessage({ ok: false, error: (err as Error)?.message ?? String(err) });
  }
};
