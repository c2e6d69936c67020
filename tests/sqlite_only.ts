/**
 * Test files of parts only the embedded SQLite backend has, left out of the PostgreSQL pass (tests/pg_pass.ts),
 * each with the reason. A file of behaviour both backends share does not belong here: its fixtures go through the
 * stores or the test deps' raw SQL (`deps.sql`) instead of `deps.db`.
 */
export const SQLITE_ONLY: Record<string, string> = {
  "tests/faults/disk_full_test.ts": "SQLITE_FULL on a size-limited tmpfs data dir, its integrity check",
  "tests/faults/readiness_test.ts": "/readyz storage state noted from SQLITE_FULL on deps.db",
  "tests/faults/readonly_test.ts": "an unwritable data dir, where the SQLite file cannot be opened",
  "tests/faults/write_lock_test.ts": "SQLite's write lock held by another process (BEGIN IMMEDIATE)",
  "tests/faults/write_lock_units_test.ts": "SQLite's write lock, busy timeout and group commit",
  "tests/transactions/bulk_spool_sweep_test.ts":
    "bulk spools kept as files in the data dir (PostgreSQL: rows)",
};
