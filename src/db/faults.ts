/** Recognising the storage faults that pass: the write lock held elsewhere, and a full disk. */

/** SQLite's "database is locked" (SQLITE_BUSY, 5) or "database table is locked" (SQLITE_LOCKED, 6). */
export function isDatabaseBusy(err: unknown): boolean {
  const e = err as { errcode?: unknown; message?: unknown } | null | undefined;
  return e?.errcode === 5 || e?.errcode === 6 || /database (table )?is locked/i.test(String(e?.message));
}

/** SQLite's SQLITE_FULL (13) or an ENOSPC from the file system (KV, files): the data dir's disk is full. */
export function isStorageFull(err: unknown): boolean {
  const e = err as { errcode?: unknown; message?: unknown } | null | undefined;
  return e?.errcode === 13 ||
    /database or disk is full|no space left on device|os error 28/i.test(String(e?.message));
}

/** A fault that goes away by itself (lock released, space freed): the work is retried, never failed for it. */
export function isTransientStorageFault(err: unknown): boolean {
  return isDatabaseBusy(err) || isStorageFull(err);
}
