-- Twin of migrations/0038_notifications_delivered.sql: a receipt by subscription code reads the latest
-- delivered notification through an index of the delivered rows only, not back over the pending backlog.
-- Built concurrently, outside a transaction (src/db/pg/migrate.ts concurrentIndex): one statement only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS notifications_delivered ON notifications (subscription_id, event_id)
  WHERE status IN ('sent', 'received');
