-- Twin of migrations/0040_drop_registry_events_lazy.sql: registry_events_registrant (0039) serves a registrant's
-- lazy snapshots, so the partial index each event was also written into goes.
DROP INDEX IF EXISTS registry_events_lazy;
