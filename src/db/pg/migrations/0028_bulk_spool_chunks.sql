-- The lookups of bulk searches (src/transactions/pg_spool_store.ts), which SQLite keeps in files: a spool is a run
-- of chunks of whole normalised lines, keyed by the character offset each starts at, so any instance reads a page
-- of a search another received. written_at (epoch ms) is the time of the spool's latest write; the orphan sweep
-- removes a spool of no live bulk search once its latest chunk is past the grace age.
CREATE TABLE bulk_spool_chunks (
  spool        text NOT NULL,
  start_offset bigint NOT NULL,
  text         text NOT NULL,
  written_at   bigint NOT NULL,
  PRIMARY KEY (spool, start_offset)
);
