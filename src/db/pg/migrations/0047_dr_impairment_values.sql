-- Twin of migrations/0047_dr_impairment_values.sql: the values of DR's new searchable attributes impairment_level
-- and impairment_cause for the records stored before them are written by the migration's step in code
-- (src/db/pg/migrate.ts, backfillDrImpairments): PostgreSQL's JSON parsers refuse a lone surrogate's escape
-- (`\ud800`), which a stored record may hold in any of its texts, so SQL cannot read every stored record.
SELECT 1;
