/**
 * A search worker (a Web Worker of the search pool, search_pool.ts): its own SQLite connection on the data
 * file, answering whole search messages with `searchMessage` (each statement under the request's time budget).
 * Protocol: `{t: "init", config, path}` once, answered `{ready: true}`; then `{t: "search", id, input}`
 * answered `{id, outcome}`, `{id, rejection}` (a header-level DciRejection) or `{id, error}` (search_worker_error.ts).
 */
/// <reference lib="deno.worker" />
import type { Config } from "../config.ts";
import { type Db, openDatabase } from "../db/sqlite.ts";
import { systemClock } from "../clock.ts";
import { DciRejection } from "../dci/errors.ts";
import { type SearchInput, searchMessage, type SearchOutcome } from "./search_message.ts";
import { toWorkerError, type WorkerError } from "./search_worker_error.ts";

/** What the pool sends a search worker. */
export type ToSearchWorker =
  | { t: "init"; config: Config; path: string }
  | { t: "search"; id: number; input: SearchInput };

/** What a search worker answers. */
export type FromSearchWorker =
  | { ready: true }
  | { id: number; outcome: SearchOutcome }
  | { id: number; rejection: { code: DciRejection["code"]; message: string } }
  | { id: number; error: WorkerError };

let state: { db: Db; config: Config } | undefined;

self.onmessage = (e: MessageEvent<ToSearchWorker>) => {
  const msg = e.data;
  if (msg.t === "init") {
    state = { db: openDatabase(msg.path, { cacheMb: msg.config.sqliteCacheMb }), config: msg.config };
    self.postMessage({ ready: true } satisfies FromSearchWorker);
    return;
  }
  let reply: FromSearchWorker;
  try {
    if (!state) throw new Error("search worker used before init");
    reply = { id: msg.id, outcome: searchMessage({ ...state, clock: systemClock }, msg.input) };
  } catch (err) {
    reply = err instanceof DciRejection
      ? { id: msg.id, rejection: { code: err.code, message: err.message } }
      : { id: msg.id, error: toWorkerError(err) };
  }
  self.postMessage(reply);
};
