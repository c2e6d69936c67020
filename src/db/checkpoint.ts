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

/** How often the main isolate looks at the WAL's length (and checkpoints past DCI_WAL_CHECKPOINT_FRAMES), in ms. */
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

/**
 * Frames in `db`'s WAL not yet copied into the database, read from the WAL-index header at the start of the -shm
 * file (SQLite's file format: iVersion 3007000 at byte 0, isInit at 12, mxFrame at 16, nBackfill at 96, in the
 * machine's byte order); undefined when it cannot be read. Read without SQLite's locks, so only a hint: enough to
 * leave a short WAL alone (a checkpoint with something to copy costs two fsyncs) without running one to find out.
 */
export function walFramesPending(db: Db): number | undefined {
  const path = db.location();
  if (!path) return undefined;
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(`${path}-shm`, { read: true });
  } catch {
    return undefined;
  }
  try {
    const header = new Uint8Array(100);
    let read = 0;
    while (read < header.length) {
      const n = file.readSync(header.subarray(read));
      if (n === null || n === 0) return undefined;
      read += n;
    }
    const view = new DataView(header.buffer);
    const version = view.getUint32(0, LITTLE_ENDIAN);
    if (version !== 3007000 || header[12] !== 1) return undefined;
    const frames = view.getUint32(16, LITTLE_ENDIAN);
    const copied = view.getUint32(96, LITTLE_ENDIAN);
    return Math.max(0, frames - copied);
  } catch {
    return undefined;
  } finally {
    file.close();
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Handle to stop the checkpointer. */
export interface Checkpointer {
  stop(): void;
}

/**
 * Every `intervalMs`, checkpoints `db` (PASSIVE) once its WAL holds `minFrames` frames not yet copied (or when
 * that cannot be read), then restarts a WAL copied whole (`restartWal`); each run that found new frames is
 * recorded in `dci_sqlite_checkpoint_seconds`. As SQLite's own threshold, `minFrames` keeps a quiet server from
 * paying a checkpoint's fsyncs every second.
 */
export function startCheckpointer(
  deps: { db: Db; metrics: Metrics; log: Logger },
  options: { intervalMs?: number; minFrames?: number } = {},
): Checkpointer {
  const minFrames = options.minFrames ?? 1000;
  let last: CheckpointRun | undefined;
  let failing: string | undefined;
  const timer = setInterval(() => {
    if (!deps.db.isOpen) return;
    let run: CheckpointRun;
    try {
      const pending = walFramesPending(deps.db);
      if (pending !== undefined && pending < minFrames) return;
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
