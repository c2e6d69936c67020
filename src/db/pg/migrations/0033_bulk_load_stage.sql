-- Nothing on PostgreSQL: the change is to SQLite's bulk load only. The number is taken so that the SQLite twin,
-- migrations/0033_bulk_load_stage.sql (a bulk load's keyed rows appended there and merged into their tables once,
-- at the load's end), keeps its version and name.
SELECT 1;
