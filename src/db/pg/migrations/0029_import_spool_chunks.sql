-- The uploaded files of registry imports (src/registry/imports/pg_spool_store.ts), which SQLite keeps as files
-- under <data dir>/imports: a spool is a run of chunks of raw bytes (about 1 MB each), numbered from 0 in file
-- order, so any instance runs an import another received. written_at (epoch ms) is when each chunk was stored; the
-- sweep removes a spool of no open import job once its latest chunk is past the grace age.
CREATE TABLE import_spool_chunks (
  spool      text NOT NULL,
  seq        integer NOT NULL,
  bytes      bytea NOT NULL,
  written_at bigint NOT NULL,
  PRIMARY KEY (spool, seq)
);
