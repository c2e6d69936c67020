-- Twin of migrations/0037_replay_guard_log.sql, which makes SQLite's replay guard an append-only log with an
-- index in memory. PostgreSQL keeps its table keyed by (sender_id, message_id), written by dci_admit: several
-- instances admit at once there, each in its own short transaction, and none holds a write lock to read the
-- others' new rows under.
SELECT 1;
