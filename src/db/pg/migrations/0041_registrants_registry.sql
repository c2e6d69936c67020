-- Twin of migrations/0041_registrants_registry.sql: the admin list's page of a registry, its counts and the
-- emptiness test of a load are ranges of this index (and 0042's), not walks of every registry's records.
-- Built concurrently, outside a transaction (src/db/pg/migrate.ts concurrentIndex): one statement only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS registrants_registry ON registrants (registry, record_type, id)
  WHERE deleted_at IS NULL;
