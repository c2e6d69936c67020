/**
 * Checkpoints off the writer's thread, for a bulk load. A commit in WAL mode appends the batch's pages to the WAL,
 * and the committing connection then copies them into the database file and syncs both (its automatic
 * checkpoint): at batches of 500,000 records, seconds of the writer's time per batch. Here a worker with its own
 * connection does that copy after each commit, while the writer goes on with the next batch, and the writer's
 * automatic checkpoints are off meanwhile. A passive checkpoint neither waits for the writer nor blocks it. The
 * writer waits for the copy every few batches (`drain`), so that the WAL starts again from its beginning and stays
 * a few batches long. Should the checkpointer fail, the writer's own checkpoints are back on at once.
 */
import type { Db } from "./sqlite.ts";
import { stmt } from "./statements.ts";
import type { CheckpointReply, CheckpointRequest } from "./checkpoint_worker.ts";

/** A running checkpointer. */
export interface Checkpointer {
  /** Asks for a checkpoint of what is committed (after a commit); returns at once. */
  checkpoint(): void;
  /**
   * Asks for a checkpoint and waits until all that is committed is copied: the writer's next transaction then
   * starts the WAL again from its beginning (SQLite restarts it only for a transaction begun with the WAL wholly
   * copied, which one begun while a checkpoint runs is not, so without this wait the WAL grows by every batch).
   */
  drain(): Promise<void>;
  /** Waits for the checkpoint under way, stops the checkpointer and gives the writer its own checkpoints back. */
  close(): Promise<void>;
}

/** Starts a checkpointer for the database of connection `db`; undefined for one in memory (no WAL). */
export function startCheckpointer(db: Db): Checkpointer | undefined {
  const path = db.location();
  if (!path) return undefined;
  const pages =
    (stmt(db, "PRAGMA wal_autocheckpoint").get() as { wal_autocheckpoint: number }).wal_autocheckpoint;
  const worker = new Worker(new URL("./checkpoint_worker.ts", import.meta.url), { type: "module" });
  /** Requests sent and not answered yet; whether a checkpoint was asked for while one was under way. */
  let inFlight = 0;
  let again = false;
  let stopped = false;
  let idle: (() => void) | undefined;
  const send = (m: CheckpointRequest) => {
    inFlight++;
    worker.postMessage(m);
  };
  const stop = () => {
    if (stopped) return;
    stopped = true;
    worker.terminate();
    db.exec(`PRAGMA wal_autocheckpoint = ${Number(pages)}`);
    idle?.();
  };
  worker.onmessage = (e: MessageEvent<CheckpointReply>) => {
    inFlight--;
    if ("error" in e.data) return stop();
    if (again && !stopped) {
      again = false;
      send({ checkpoint: true });
    }
    if (inFlight === 0) idle?.();
  };
  worker.onerror = (e: ErrorEvent) => {
    e.preventDefault();
    stop();
  };
  const checkpoint = () => {
    if (stopped) return;
    if (inFlight > 0) again = true;
    else send({ checkpoint: true });
  };
  /** Resolves once every request sent is answered (or the checkpointer stopped). */
  const settled = async () => {
    while (inFlight > 0 && !stopped) await new Promise<void>((r) => idle = r);
  };
  db.exec("PRAGMA wal_autocheckpoint = 0");
  send({ path });
  return {
    checkpoint,
    drain() {
      checkpoint();
      return settled();
    },
    async close() {
      if (stopped) return;
      again = false;
      send({ close: true });
      await settled();
      stop();
    },
  };
}
