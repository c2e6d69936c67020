/**
 * Test files of parts only the embedded SQLite backend has, left out of the PostgreSQL pass (tests/run.ts),
 * each with the reason. A file of behaviour both backends share does not belong here: its fixtures go through the
 * stores or the test deps' raw SQL (`deps.sql`) instead of `deps.db`.
 */
export const SQLITE_ONLY: Record<string, string> = {};
