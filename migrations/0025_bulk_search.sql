-- Bulk search by file (multipart/form-data with a FileInfo part): the transaction row stays the record of the
-- request (state, ACK, txn/status); this table holds the file's progress, and bulk_pages one row per answer page,
-- each delivered and retried on its own. The lookups themselves are in a spool file in the data dir (`spool`,
-- one normalised lookup per line), never in SQLite.
CREATE TABLE bulk_searches (
  txn            INTEGER PRIMARY KEY REFERENCES transactions (id) ON DELETE CASCADE,
  spool          TEXT NOT NULL,               -- file name of the normalised lookups, under <data dir>/bulk
  file_name      TEXT NOT NULL,               -- the uploaded file's name (for operators)
  file_format    TEXT NOT NULL CHECK (file_format IN ('json', 'csv')),
  items_total    INTEGER NOT NULL,
  page_size      INTEGER NOT NULL,
  pages_total    INTEGER NOT NULL,
  -- Resumption point: pages_built pages are answered and stored; the next page starts at spool byte next_offset.
  pages_built    INTEGER NOT NULL DEFAULT 0,
  items_done     INTEGER NOT NULL DEFAULT 0,
  next_offset    INTEGER NOT NULL DEFAULT 0,
  pages_sent     INTEGER NOT NULL DEFAULT 0,
  pages_failed   INTEGER NOT NULL DEFAULT 0
);

-- One answer page: the on-search message (dropped once delivered, so the table stays small), its callback
-- message_id (kept across retries so a receiver can de-duplicate) and its own delivery state.
CREATE TABLE bulk_pages (
  txn             INTEGER NOT NULL REFERENCES bulk_searches (txn) ON DELETE CASCADE,
  page            INTEGER NOT NULL,           -- 1-based, delivered in this order
  items           INTEGER NOT NULL,
  completed       INTEGER NOT NULL,           -- items answered up to and including this page
  message         TEXT,                       -- JSON on-search message; NULL once sent
  message_id      TEXT NOT NULL,
  state           TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed')),
  attempts        INTEGER NOT NULL DEFAULT 0,
  last_error      TEXT,
  sent_at         TEXT,
  PRIMARY KEY (txn, page)
) WITHOUT ROWID;
