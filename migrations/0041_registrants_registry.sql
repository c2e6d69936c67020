-- A registry's live records by record type: the admin list (src/registry/registry_store.ts STORE_SQL.list) read
-- a page by walking the primary key down and testing each row's registry, so a page of a small registry beside
-- a large one, and the end of any registry's list, read every record of the others (200 ms at 1.4M records,
-- seconds at 14M, on the HTTP isolate); its counts (`?counts=true`, `registry stats`) and "is this registry
-- empty" (a load's bulk mode) scanned the whole table. Each is now a range of this index (the deleted records:
-- 0042's): the list one range per record type in id order (the rowid ends every key), the counts the registry's
-- own entries, the emptiness test one seek. Partial, so that only a statement naming `deleted_at IS NULL` can
-- use it: the lookups by id and registry keep their (external_id, registry) key. A bulk load appends to it (ids
-- grow within each registry and record type).
CREATE INDEX registrants_registry ON registrants (registry, record_type) WHERE deleted_at IS NULL;
