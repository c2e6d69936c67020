-- Nothing on SQLite: the embedded server spools an import's uploaded file to <data dir>/imports
-- (src/registry/imports/spool_store.ts), where its one process reads it. The number is taken so that the
-- PostgreSQL twin, src/db/pg/migrations/0029_import_spool_chunks.sql, keeps its version and name, and the table it
-- creates is listed as PostgreSQL-only in tests/foundation/pg_schema_test.ts.
SELECT 1;
