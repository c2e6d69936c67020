/**
 * The WAL checkpointer of a bulk load (checkpointer.ts): a connection of its own copies the committed WAL frames
 * into the database file each time it is asked (`wal_checkpoint(PASSIVE)`, which neither waits for the writer
 * nor blocks it), while the writer goes on with its next batch.
 */
/// <reference lib="deno.worker" />
import { DatabaseSync } from "node:sqlite";
import { BUSY_TIMEOUT_MS } from "./sqlite.ts";

/** A request: open `path`, checkpoint, or close. */
export type CheckpointRequest = { path: string } | { checkpoint: true } | { close: true };

/** The answer to each request; `error` when it failed. */
export type CheckpointReply = { ok: true } | { error: string };

let db: DatabaseSync | undefined;

self.onmessage = (e: MessageEvent<CheckpointRequest>) => {
  const m = e.data;
  try {
    if ("path" in m) {
      db = new DatabaseSync(m.path);
      // The file is in WAL mode already (the writer's); a checkpoint syncs the WAL and then the file.
      db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}; PRAGMA synchronous = NORMAL`);
    } else if ("checkpoint" in m) db!.exec("PRAGMA wal_checkpoint(PASSIVE)");
    else {
      db?.close();
      db = undefined;
    }
    self.postMessage({ ok: true } satisfies CheckpointReply);
  } catch (err) {
    // The writer stops this worker on any error: its connection is closed first, so no connection of the
    // process is left open on the file (which would keep the writer's last close from removing the WAL).
    try {
      db?.close();
    } catch { /* already unusable */ }
    db = undefined;
    self.postMessage({ error: (err as Error)?.message ?? String(err) } satisfies CheckpointReply);
  }
};
