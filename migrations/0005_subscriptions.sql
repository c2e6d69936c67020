-- Subscriptions to registry change events, the notification log, and the fan-out cursor.
-- Times are ISO 8601 UTC text of one fixed width, so they compare correctly as strings.
CREATE TABLE subscriptions (
  id                   INTEGER PRIMARY KEY,
  code                 TEXT NOT NULL UNIQUE,      -- the public subscription_code
  sender_id            TEXT NOT NULL,
  registry             TEXT NOT NULL,
  reg_type             TEXT,                      -- as sent (echoed back)
  reg_event_type       TEXT NOT NULL CHECK (reg_event_type IN ('registration', 'update', 'delete')),
  record_type          TEXT NOT NULL CHECK (record_type IN ('person', 'group')),
  notify_record_type   TEXT NOT NULL,             -- as sent (echoed back as reg_record_type)
  filter_type          TEXT,
  filter               TEXT,                      -- JSON, NULL = every record
  frequency            TEXT,                      -- JSON as sent
  dedupe_key           TEXT NOT NULL,             -- canonical (registry, event, record type, filter)
  callback_url         TEXT NOT NULL,
  start_time           TEXT,
  end_time             TEXT,
  state                TEXT NOT NULL CHECK (state IN ('pending', 'active', 'cancelled', 'expired', 'error')),
  -- Events with an id above this are in scope: set when the subscription becomes active, so events that
  -- happened before (or while it waited for approval) are not sent.
  from_event_id        INTEGER NOT NULL DEFAULT 0,
  correlation_id       TEXT NOT NULL,             -- the subscribe transaction (idempotent re-runs)
  reference_id         TEXT NOT NULL,
  locale               TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_error           TEXT,
  lease_until          TEXT,                      -- a delivery lane holds the subscription until then
  cancelled_by         TEXT,                      -- correlation_id of the unsubscribe (idempotent re-runs)
  created_at           TEXT NOT NULL,
  updated_at           TEXT NOT NULL,
  activated_at         TEXT,
  ended_at             TEXT,
  UNIQUE (correlation_id, reference_id)
);
-- A sender cannot hold two live subscriptions with the same criteria (rjct.event.already_subscribed).
CREATE UNIQUE INDEX subscriptions_live ON subscriptions (sender_id, dedupe_key)
  WHERE state IN ('pending', 'active', 'error');
CREATE INDEX subscriptions_sender ON subscriptions (sender_id, state);
CREATE INDEX subscriptions_fanout ON subscriptions (state, registry, reg_event_type, record_type);
CREATE INDEX subscriptions_end ON subscriptions (end_time) WHERE end_time IS NOT NULL
  AND state IN ('pending', 'active', 'error');

-- One row per (subscription, registry event): the log of what was, is being, or could not be delivered.
CREATE TABLE notifications (
  id               INTEGER PRIMARY KEY,           -- delivery order within a subscription
  notification_id  TEXT NOT NULL UNIQUE,          -- public id: X-DCI-Notification-ID, receipts
  subscription_id  INTEGER NOT NULL REFERENCES subscriptions (id),
  event_id         INTEGER NOT NULL,
  event_type       TEXT NOT NULL,
  record_type      TEXT NOT NULL,
  record_count     INTEGER NOT NULL,
  message_id       TEXT NOT NULL,                 -- kept across retries so receivers can de-duplicate
  attempts         INTEGER NOT NULL DEFAULT 0,
  status           TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'received')),
  last_error       TEXT,
  next_attempt_at  TEXT NOT NULL,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  sent_at          TEXT,
  received_at      TEXT,
  UNIQUE (subscription_id, event_id)
);
CREATE INDEX notifications_pending ON notifications (subscription_id, id) WHERE status = 'pending';
CREATE INDEX notifications_due ON notifications (next_attempt_at) WHERE status = 'pending';
CREATE INDEX notifications_status ON notifications (status, created_at);
CREATE INDEX notifications_created ON notifications (created_at);
CREATE INDEX notifications_message ON notifications (message_id);

-- The fan-out cursor: registry events up to this id have their notifications logged.
CREATE TABLE notifier_cursor (
  id            INTEGER PRIMARY KEY CHECK (id = 1),
  last_event_id INTEGER NOT NULL
);
INSERT INTO notifier_cursor (id, last_event_id) VALUES (1, 0);
