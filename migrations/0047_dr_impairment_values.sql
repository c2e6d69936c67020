-- DR's impairment_level and impairment_cause became searchable attributes (src/registries/dr/record_types.ts:
-- any of a person's impairments, its code list's label upper-cased): every writer stores their values with the
-- record from now on. The values of the records stored before are written by this migration's step in code
-- (src/db/migrate.ts, backfillDrImpairments, through the writers' own valuePairs), as on PostgreSQL, whose JSON
-- parsers refuse a lone surrogate's escape that a stored record may hold.
SELECT 1;
