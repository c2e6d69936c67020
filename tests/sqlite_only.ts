/**
 * Test files of parts only the embedded SQLite backend has, left out of the PostgreSQL pass (tests/run.ts),
 * each with the reason. A file of behaviour both backends share does not belong here: its fixtures go through the
 * stores or the test deps' raw SQL (`deps.sql`) instead of `deps.db`.
 */
export const SQLITE_ONLY: Record<string, string> = {
  "tests/conformance/query_budget_test.ts":
    "the SQLite search's time budget and the search worker pool on a SQLite file",
  "tests/registry/search_error_test.ts":
    "node:sqlite statements stopped by the SQLite search's budget (StatementSync hooks)",
  "tests/registry/search_storage_error_test.ts":
    "the search worker pool's SQLite errors (codes of a broken SQLite file)",
  "tests/security/search_pool_test.ts":
    "the search worker pool, whose workers open the SQLite file of the data dir",
  "tests/security/statement_budget_test.ts":
    "the dci_budget() SQL function of SQLite connections (PostgreSQL: statement_timeout)",
};
