/**
 * WAL checkpoints off the request path. By default SQLite checkpoints in the connection whose COMMIT takes the
 * WAL past 1,000 pages: with every signed search writing (replay guard, rate limit), an HTTP isolate ran one
 * every second or so, synchronously, with its fsyncs (measured 20–60 ms on a busy disk, every open request of
 * the isolate waiting: the p99 of bench/load.ts). HTTP isolates defer theirs (`deferCheckpoints`) and the main
 * isolate, which serves no HTTP when there are HTTP isolates, runs a PASSIVE checkpoint on a timer.
 *
 * Durability is unchanged: a commit is in the WAL (the OS keeps it across a SIGKILL) before it is answered, and
 * a checkpoint only copies committed pages into the database file. A PASSIVE checkpoint never takes the write
 * lock, so writers go on meanwhile, and the next writer after a complete one starts the WAL from its beginning,
 * as after an automatic checkpoint.
 */
import { type Db, finishTransaction, tryBeginImmediate } from "./sqlite.ts";
import type { Metrics } from "../obs/metrics.ts";
import type { Logger } from "../obs/log.ts";

/**
 * The automatic checkpoint threshold of an HTTP isolate's connection, in pages: a backstop that bounds the WAL
 * (~40 MB) should the main isolate's checkpointer stall, and far above what writes add between two of its runs.
 */
export const DEFERRED_AUTOCHECKPOINT_PAGES = 10_000;

/** How often the main isolate checkpoints, in ms; a run with nothing to copy costs microseconds and no fsync. */
export const CHECKPOINT_INTERVAL_MS = 1000;

/** Leaves `db`'s checkpoints to another connection, up to DEFERRED_AUTOCHECKPOINT_PAGES of WAL. */
export function deferCheckpoints(db: Db): void {
  db.exec(`PRAGMA wal_autocheckpoint = ${DEFERRED_AUTOCHECKPOINT_PAGES}`);
}

/** What one PASSIVE checkpoint did: frames in the WAL, frames copied into the database, and how long it took. */
export interface CheckpointRun {
  /** Another connection was checkpointing (or held a lock the checkpoint needs): nothing was done. */
  busy: boolean;
  /** Frames in the WAL (-1: the database is not in WAL mode, e.g. in memory). */
  walFrames: number;
  /** Frames copied into the database so far (all of them when the WAL was fully checkpointed). */
  copiedFrames: number;
  ms: number;
}

/** Runs one PASSIVE checkpoint on `db`. */
export function checkpointOnce(db: Db): CheckpointRun {
  const started = performance.now();
  const row = db.prepare("PRAGMA wal_checkpoint(PASSIVE)").get() as
    | { busy: number; log: number; checkpointed: number }
    | undefined;
  return {
    busy: row?.busy === 1,
    walFrames: Number(row?.log ?? -1),
    copiedFrames: Number(row?.checkpointed ?? -1),
    ms: performance.now() - started,
  };
}

/**
 * After a complete checkpoint, starts the WAL over from `db` with a one-page write (user_version set to itself):
 * the first commit of a restarted WAL fsyncs its header, and this way that is paid here rather than by an HTTP
 * isolate's commit. Returns false, doing nothing, while another connection holds the write lock (its commit then
 * restarts the WAL as usual).
 */
export function restartWal(db: Db): boolean {
  if (tryBeginImmediate(db, 0)) return false;
  finishTransaction(db, () => {
    const { user_version: version } = db.prepare("PRAGMA user_version").get() as { user_version: number };
    db.exec(`PRAGMA user_version = ${Math.trunc(Number(version))}`);
  });
  return true;
}

/** Handle to stop the checkpointer. */
export interface Checkpointer {
  stop(): void;
}

/**
 * Checkpoints `db` every `intervalMs` (PASSIVE), then restarts a WAL copied whole (`restartWal`); each run that
 * found new frames is recorded in `dci_sqlite_checkpoint_seconds`.
 */
export function startCheckpointer(
  deps: { db: Db; metrics: Metrics; log: Logger },
  options: { intervalMs?: number } = {},
): Checkpointer {
  let last: CheckpointRun | undefined;
  let failing: string | undefined;
  const timer = setInterval(() => {
    if (!deps.db.isOpen) return;
    let run: CheckpointRun;
    try {
      run = checkpointOnce(deps.db);
      // More than the one frame restartWal itself writes: an idle server's WAL is left alone (no fsync a second).
      if (!run.busy && run.walFrames > 1 && run.copiedFrames === run.walFrames) restartWal(deps.db);
    } catch (err) {
      // A failed checkpoint loses nothing (the WAL keeps every commit); the next tick tries again. A lasting
      // cause (a full disk) is logged once, not every second.
      const message = err instanceof Error ? err.message : String(err);
      if (message !== failing) deps.log.warn("wal checkpoint failed", { err });
      failing = message;
      return;
    }
    failing = undefined;
    if (run.busy || run.walFrames <= 0) return;
    // A WAL already copied whole and not yet restarted by a writer answers the same figures again: no work.
    const same = last?.walFrames === run.walFrames && last?.copiedFrames === run.copiedFrames;
    last = run;
    if (same) return;
    deps.metrics.observe(
      "dci_sqlite_checkpoint_seconds",
      "Time of a WAL checkpoint run by the main isolate (off the HTTP isolates' event loops)",
      {},
      run.ms / 1000,
    );
  }, options.intervalMs ?? CHECKPOINT_INTERVAL_MS);
  // Never what keeps the process alive (a start that failed after it began, a test).
  Deno.unrefTimer(timer);
  return { stop: () => clearInterval(timer) };
}
