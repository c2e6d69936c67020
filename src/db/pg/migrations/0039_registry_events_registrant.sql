-- Twin of migrations/0039_registry_events_registrant.sql: fan-out's previous snapshot of a registrant
-- (src/subscriptions/pg_fanout_store.ts PREVIOUS) is one seek, not a walk back over every later event.
-- Built concurrently, outside a transaction (src/db/pg/migrate.ts concurrentIndex): one statement only.
CREATE INDEX CONCURRENTLY IF NOT EXISTS registry_events_registrant ON registry_events (registrant_id, id);
