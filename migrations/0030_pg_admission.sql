-- Nothing on SQLite: an admission there is a few statements of the group commit's shared write, in the same
-- process. The number is taken so that the PostgreSQL twin, src/db/pg/migrations/0030_pg_admission.sql (the
-- admission as one function, one round trip per request), keeps its version and name.
SELECT 1;
