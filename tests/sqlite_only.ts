/**
 * Test files of parts only the embedded SQLite backend has, left out of the PostgreSQL pass (tests/pg_pass.ts),
 * each with the reason. A file of behaviour both backends share does not belong here: its fixtures go through the
 * stores or the test deps' raw SQL (`deps.sql`) instead of `deps.db`.
 */
export const SQLITE_ONLY: Record<string, string> = {
  "tests/console/list_plans_test.ts": "SQLite's EXPLAIN QUERY PLAN of the list statements",
  "tests/operations/backup_drill_test.ts": "a SQLite file backup under load, restored into a fresh data dir",
  "tests/operations/backup_test.ts": "SQLite file backups, their checks, retention, data-dir lock, schedule",
  "tests/operations/restore_test.ts": "`dci-server restore` of a SQLite backup file into a data dir",
};
