-- Nothing on SQLite: the embedded server spools a bulk search's lookups to files under <data dir>/bulk
-- (src/transactions/spool_store.ts), where its one process reads them. The number is taken so that the
-- PostgreSQL twin, src/db/pg/migrations/0028_bulk_spool_chunks.sql, keeps its version and name, and the table it
-- creates is listed as PostgreSQL-only in tests/foundation/pg_schema_test.ts.
SELECT 1;
