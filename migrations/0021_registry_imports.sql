-- Registry imports uploaded through the admin API or the console (src/registry/imports/). The file waits in a
-- spool file under the data dir; the worker writes its records in small batches and, in the same transaction as
-- each batch, advances `read` and the counts and keeps the first rejected rows. A restart resumes after the last
-- committed batch (records before `read` are skipped), so no record is written twice and no count is off.
CREATE TABLE registry_imports (
  id             INTEGER PRIMARY KEY,
  registry       TEXT NOT NULL,
  format         TEXT NOT NULL,               -- csv | ndjson | json
  file_name      TEXT NOT NULL,               -- as uploaded (display only; never a path)
  bytes          INTEGER NOT NULL,
  spool_file     TEXT NOT NULL,               -- the uploaded bytes: a random name in the spool dir, deleted at the end
  state          TEXT NOT NULL,               -- queued | running | done | failed
  error          TEXT,                        -- why a failed import stopped
  read           INTEGER NOT NULL DEFAULT 0,  -- source records consumed (kept + rejected)
  registered     INTEGER NOT NULL DEFAULT 0,
  updated        INTEGER NOT NULL DEFAULT 0,
  rejected_count INTEGER NOT NULL DEFAULT 0,
  actor          TEXT,                        -- the admin token id that uploaded it
  created_at     TEXT NOT NULL,
  started_at     TEXT,
  finished_at    TEXT
);
CREATE INDEX registry_imports_registry ON registry_imports (registry, id);
CREATE INDEX registry_imports_open ON registry_imports (state) WHERE state IN ('queued', 'running');

-- The first rejected rows of each import (at most MAX_REJECTIONS_KEPT; the count goes on in registry_imports).
CREATE TABLE registry_import_rejects (
  import_id INTEGER NOT NULL REFERENCES registry_imports (id) ON DELETE CASCADE,
  seq       INTEGER NOT NULL,
  line      INTEGER NOT NULL,
  reason    TEXT NOT NULL,
  PRIMARY KEY (import_id, seq)
) WITHOUT ROWID;
