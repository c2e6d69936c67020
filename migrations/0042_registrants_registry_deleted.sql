-- The deleted records of a registry by record type (0041 holds the live ones): the registry's counts and its
-- emptiness test read them here, not in a scan of the table. Few rows: records are rarely deleted.
CREATE INDEX registrants_registry_deleted ON registrants (registry, record_type) WHERE deleted_at IS NOT NULL;
