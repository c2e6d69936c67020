/** Where the audit log is kept: the interface the services use, and its embedded SQLite implementation. */
import type { Db } from "../db/sqlite.ts";
import { groupCommit } from "../db/group_commit.ts";
import { stmt } from "../db/statements.ts";
import type { Logger } from "../obs/log.ts";
import {
  type AuditEntry,
  type AuditFilter,
  type AuditRow,
  DROP_AUDIT,
  FINISH_AUDIT,
  finishValues,
  listAudit,
  purgeAudit,
  recordAudit,
  UNFINISHED,
} from "./log.ts";

/** The audit log of admin writes. */
export interface AuditStore {
  /** Records one admin write; returns its id. */
  record(entry: AuditEntry, nowMs: number): Promise<number>;
  /** Replaces the row `id` (written ahead) with `entry`'s action, target and detail (its time, source, actor stay). */
  finish(id: number, entry: AuditEntry): Promise<void>;
  /** Deletes the row `id` (written ahead of a write that was refused). */
  drop(id: number): Promise<void>;
  /** A page of the log, newest first, and the cursor of the next page (null at the end). */
  list(filter?: AuditFilter): Promise<{ items: AuditRow[]; next_before: number | null }>;
  /** Deletes rows older than `cutoffMs` in short batches; returns how many. */
  purge(cutoffMs: number): Promise<number>;
}

/**
 * Runs an admin write with its audit row written ahead: the row (`ahead`, its detail UNFINISHED) is recorded
 * first, and when that fails the write is not run (the failure is the request's: a held lock or a full disk
 * answers 503), so no write is made unaudited; then `run`, and `outcome` of its result replaces the row (an entry)
 * or deletes it (undefined: a refusal, which wrote nothing). A write that throws keeps its row, marked
 * `{status: "failed"}`: it may have written part. A row UNFINISHED is a write still running, or one that began
 * and whose outcome was never recorded: the process stopped meanwhile, or the last write failed (logged).
 */
export async function auditAhead<T>(
  deps: { storage: { audit: AuditStore }; log: Logger; clock: { now(): number } },
  ahead: AuditEntry,
  run: () => Promise<T>,
  outcome: (result: T) => AuditEntry | undefined | Promise<AuditEntry | undefined>,
): Promise<T> {
  const audit = deps.storage.audit;
  const id = await audit.record({ ...ahead, detail: UNFINISHED }, deps.clock.now());
  // The outcome is read inside too: a failure to read it (the answer's body) leaves the row unfinished, logged.
  const settle = async (of: () => AuditEntry | undefined | Promise<AuditEntry | undefined>) => {
    try {
      const entry = await of();
      await (entry ? audit.finish(id, entry) : audit.drop(id));
    } catch (err) {
      // The row's id only: the action may be a request path, which a log line never holds whole.
      deps.log.error("audit record could not be completed: it stays unfinished", { id, err });
    }
  };
  let result: T;
  try {
    result = await run();
  } catch (err) {
    await settle(() => ({ ...ahead, detail: { status: "failed" } }));
    throw err;
  }
  await settle(() => outcome(result));
  return result;
}

/** Every row matching `filter`, newest first, read page by page (for exports). */
export async function* eachAudit(
  store: AuditStore,
  filter: Omit<AuditFilter, "limit">,
): AsyncGenerator<AuditRow> {
  let before = filter.before;
  while (true) {
    const page = await store.list({ ...filter, before, limit: 1000 });
    yield* page.items;
    if (page.next_before === null) return;
    before = page.next_before;
  }
}

/** The audit log in the embedded SQLite database. */
export function sqliteAuditStore(db: Db): AuditStore {
  return {
    // Through the group commit: it waits for a write lock held elsewhere (an import batch, another isolate) on
    // timers, up to 5 s, where a plain statement of the serving connection gave up after 100 ms and the write it
    // records went unaudited.
    record: (entry, nowMs) => groupCommit(db, () => recordAudit(db, entry, nowMs)),
    finish: (id, entry) => groupCommit(db, () => void stmt(db, FINISH_AUDIT).run(...finishValues(id, entry))),
    drop: (id) => groupCommit(db, () => void stmt(db, DROP_AUDIT).run(id)),
    list: (filter) => Promise.try(() => listAudit(db, filter)),
    purge: (cutoffMs) => purgeAudit(db, cutoffMs),
  };
}
