-- Nothing on SQLite: a cached bearer row is confirmed there by a read in the group commit's shared write, in the
-- same process. The number is taken so that the PostgreSQL twin, src/db/pg/migrations/0037_pg_bearer_confirm.sql
-- (the bearer lookup as one function, which dci_admit calls to confirm a cached row), keeps its version and name.
SELECT 1;
