-- Twin of migrations/0048_transactions_failed_sender.sql: the failed callbacks of one sender, newest first, through
-- an index of the failed rows only. Built concurrently, outside a transaction (src/db/pg/migrate.ts
-- concurrentIndex): one statement only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS transactions_failed_sender ON transactions (sender_id, created_at, id)
  WHERE state = 'callback_failed';
