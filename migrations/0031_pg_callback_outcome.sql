-- Nothing on SQLite: a callback's outcome there is its attempt and its state change in one write of the same
-- process. The number is taken so that the PostgreSQL twin, src/db/pg/migrations/0031_pg_callback_outcome.sql
-- (the outcome as one function, one round trip per callback), keeps its version and name.
SELECT 1;
