-- The replay guard becomes an append-only log (src/auth/replay.ts): each admitted message id is one row in
-- `seq` order, and each connection keeps an index of the window's rows in memory (a hash of sender and
-- message_id to the rows' seqs), checking a candidate against its row. Keyed by (sender_id, message_id), every
-- admitted request inserted into a random page of the tree, and each such page went to the WAL and back to the
-- file at the next checkpoint: ~33 µs a request with a few seconds of records, ~54 µs with a full window's
-- (measured, node:sqlite, batches of 31); appended in order, ~7 µs. AUTOINCREMENT: a seq is never taken again
-- after a purge, so a connection reading the rows after the last seq it saw reads every new one. The rows of the
-- old table are carried over, so a copy of a message admitted before the upgrade is still refused.
-- Twin: src/db/pg/migrations/0037_replay_guard_log.sql (PostgreSQL keeps its keyed table).
ALTER TABLE replay_guard RENAME TO replay_guard_keyed;
CREATE TABLE replay_guard (
  seq        INTEGER PRIMARY KEY AUTOINCREMENT,
  sender_id  TEXT NOT NULL,
  message_id TEXT NOT NULL,
  seen_at_ms INTEGER NOT NULL,
  kind       TEXT NOT NULL DEFAULT 'sync'
);
INSERT INTO replay_guard (sender_id, message_id, seen_at_ms, kind)
  SELECT sender_id, message_id, seen_at_ms, kind FROM replay_guard_keyed ORDER BY seen_at_ms;
DROP TABLE replay_guard_keyed;
CREATE INDEX replay_guard_seen ON replay_guard (seen_at_ms);
