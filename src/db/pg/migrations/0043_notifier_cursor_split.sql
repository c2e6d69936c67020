-- The fan-out cursor within an event: event split_event_id (after last_event_id; 0: none) has its notifications
-- logged for the subscriptions up to split_subscription_id. An event in scope of more subscriptions than one
-- batch takes is fanned out over several batches, so that no batch holds the write lock (on SQLite, the event
-- loop) for long. The event is named, not implied: an instance of an older version, which moves last_event_id
-- alone, then leaves a split that no longer applies, never one that would skip another event's subscriptions.
ALTER TABLE notifier_cursor ADD COLUMN split_event_id bigint NOT NULL DEFAULT 0;
ALTER TABLE notifier_cursor ADD COLUMN split_subscription_id bigint NOT NULL DEFAULT 0;
