-- Fan-out's list of subscriptions is extended, once its cursor passes the newest event of the list's read, with
-- the subscriptions made or approved since (from_event_id at or past that event): a seek of this index, where it
-- read every live subscription's row (~7 ms at 30,000 subscriptions, on SQLite under the write lock).
CREATE INDEX subscriptions_from_event ON subscriptions (state, from_event_id);
