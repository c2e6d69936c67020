-- Processing attempts are counted in SQLite when a transaction is claimed, before its processor runs, so a
-- transaction that crashes, wedges or kills the process is failed after a bounded number of attempts (also across
-- restarts) instead of being redone by the sweeper forever. process_error keeps the last failure's reason for
-- operators (last_error belongs to callback attempts).
ALTER TABLE transactions ADD COLUMN process_attempts INTEGER NOT NULL DEFAULT 0;
ALTER TABLE transactions ADD COLUMN process_error TEXT;
