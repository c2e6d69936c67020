-- The fan-out cursor within an event: the event after last_event_id has its notifications logged for the
-- subscriptions up to this id (0: for none yet). An event in scope of more subscriptions than one batch takes is
-- fanned out over several batches, so that no batch holds the write lock (on SQLite, the event loop) for long.
ALTER TABLE notifier_cursor ADD COLUMN last_subscription_id INTEGER NOT NULL DEFAULT 0;
