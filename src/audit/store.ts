/** Where the audit log is kept: the interface the services use, and its embedded SQLite implementation. */
import type { Db } from "../db/sqlite.ts";
import { groupCommit } from "../db/group_commit.ts";
import {
  type AuditEntry,
  type AuditFilter,
  type AuditRow,
  listAudit,
  purgeAudit,
  recordAudit,
} from "./log.ts";

/** The audit log of admin writes. */
export interface AuditStore {
  /** Records one admin write; returns its id. */
  record(entry: AuditEntry, nowMs: number): Promise<number>;
  /** A page of the log, newest first, and the cursor of the next page (null at the end). */
  list(filter?: AuditFilter): Promise<{ items: AuditRow[]; next_before: number | null }>;
  /** Deletes rows older than `cutoffMs` in short batches; returns how many. */
  purge(cutoffMs: number): Promise<number>;
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
    list: (filter) => Promise.try(() => listAudit(db, filter)),
    purge: (cutoffMs) => purgeAudit(db, cutoffMs),
  };
}
