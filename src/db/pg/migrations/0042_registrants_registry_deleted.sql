-- Twin of migrations/0042_registrants_registry_deleted.sql: a registry's deleted records by record type.
-- Built concurrently, outside a transaction (src/db/pg/migrate.ts concurrentIndex): one statement only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS registrants_registry_deleted ON registrants (registry, record_type)
  WHERE deleted_at IS NOT NULL;
