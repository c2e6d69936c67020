/**
 * Test files of parts only the embedded SQLite backend has, left out of the PostgreSQL pass (tests/run.ts),
 * each with the reason. A file of behaviour both backends share does not belong here: its fixtures go through the
 * stores or the test deps' raw SQL (`deps.sql`) instead of `deps.db`.
 */
export const SQLITE_ONLY: Record<string, string> = {
  "tests/conformance/query_budget_test.ts":
    "the SQLite search's time budget and the search worker pool on a SQLite file",
  "tests/faults/disk_full_test.ts": "SQLITE_FULL on a size-limited tmpfs data dir, its integrity check",
  "tests/faults/readiness_test.ts": "/readyz storage state noted from SQLITE_FULL on deps.db",
  "tests/faults/readonly_test.ts": "an unwritable data dir, where the SQLite file cannot be opened",
  "tests/faults/write_lock_test.ts": "SQLite's write lock held by another process (BEGIN IMMEDIATE)",
  "tests/faults/write_lock_units_test.ts": "SQLite's write lock, busy timeout and group commit",
  "tests/faults/storage_fault_steps_test.ts":
    "SQLite's write lock held by a second connection while a claimed step or an accept writes",
  "tests/registry/bulk_stage_test.ts":
    "a SQLite bulk load's stage tables (migration 0033) and their merge (PostgreSQL has no stage)",
  "tests/registry/search_error_test.ts":
    "node:sqlite statements stopped by the SQLite search's budget (StatementSync hooks)",
  "tests/registry/search_storage_error_test.ts":
    "the search worker pool's SQLite errors (codes of a broken SQLite file)",
  "tests/security/search_pool_test.ts":
    "the search worker pool, whose workers open the SQLite file of the data dir",
  "tests/security/statement_budget_test.ts":
    "the dci_budget() SQL function of SQLite connections (PostgreSQL: statement_timeout)",
  "tests/transactions/results_migration_test.ts":
    "migration 0032 run on an embedded database that holds a result stored before it",
  "tests/transactions/bulk_spool_sweep_test.ts":
    "bulk spools kept as files in the data dir (PostgreSQL: rows)",
  "tests/console/list_plans_test.ts": "SQLite's EXPLAIN QUERY PLAN of the list statements",
  "tests/storage/wal_size_test.ts": "SQLite's WAL file and its journal_size_limit",
  "tests/subscriptions/fanout_plan_test.ts":
    "SQLite's EXPLAIN QUERY PLAN of fan-out's read of the subscriptions made since its list",
  "tests/transactions/bulk_pages_plan_test.ts": "SQLite's EXPLAIN QUERY PLAN of a bulk run's page reads",
  "tests/subscriptions/receipt_plan_test.ts":
    "SQLite's EXPLAIN QUERY PLAN of the receipt by subscription code",
  "tests/operations/backup_drill_test.ts": "a SQLite file backup under load, restored into a fresh data dir",
  "tests/operations/backup_test.ts": "SQLite file backups, their checks, retention, data-dir lock, schedule",
  "tests/operations/restore_test.ts": "`dci-server restore` of a SQLite backup file into a data dir",
  "tests/operations/root_owner_test.ts":
    "root's `backup` and `restore` of SQLite files in another user's data dir",
  "tests/operations/restore_callback_id_test.ts":
    "dci-server backup and restore of a SQLite data dir between a transaction's ACK and its redelivery",
  "tests/operations/backup_restore_lock_test.ts":
    "the data-dir lock between dci-server backup and restore (SQLite files)",
  "tests/transactions/bulk_spool_gone_test.ts": "a bulk search's spool file removed from a SQLite data dir",
  "tests/operations/worker_lock_test.ts":
    "one worker per SQLite data dir (PostgreSQL instances share the work by leases)",
};
