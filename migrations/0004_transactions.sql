-- Async transactions: the record of truth for every accepted search/subscribe/unsubscribe/txn-status request.
-- The KV queue only wakes the worker and delays retries; a sweeper redoes whatever this table says is due.
-- Times are ISO 8601 UTC text of one fixed width, so they compare correctly as strings.
CREATE TABLE transactions (
  id                    INTEGER PRIMARY KEY,   -- internal id; queue messages carry only this
  sender_id             TEXT NOT NULL,
  transaction_id        TEXT NOT NULL,
  -- transaction_id for search/subscribe/unsubscribe; the message_id for txn-status (the spec has senders
  -- reuse a business transaction_id across related requests, including status queries).
  dedupe_key            TEXT NOT NULL,
  message_id            TEXT NOT NULL,
  correlation_id        TEXT NOT NULL UNIQUE,
  action                TEXT NOT NULL CHECK (action IN ('search', 'subscribe', 'unsubscribe', 'txn-status')),
  registry              TEXT NOT NULL,
  callback_url          TEXT NOT NULL,
  request_header        TEXT NOT NULL,         -- JSON
  request_message       TEXT NOT NULL,         -- JSON
  ack                   TEXT NOT NULL,         -- JSON: the stored ACK a repeat gets
  state                 TEXT NOT NULL CHECK (state IN ('received', 'pending', 'processing', 'succeeded',
                          'rejected', 'callback_sent', 'callback_failed')),
  outcome               TEXT CHECK (outcome IN ('succ', 'rjct')),
  status_reason_code    TEXT,
  status_reason_message TEXT,
  total_count           INTEGER,
  completed_count       INTEGER,
  result                TEXT,                  -- JSON: the callback message (signed afresh on each attempt)
  callback_message_id   TEXT,                  -- kept across retries so receivers can de-duplicate
  attempts              INTEGER NOT NULL DEFAULT 0,
  last_error            TEXT,
  next_attempt_at       TEXT,
  lease_owner           TEXT,
  lease_until           TEXT,
  created_at            TEXT NOT NULL,
  updated_at            TEXT NOT NULL,
  processed_at          TEXT,
  completed_at          TEXT,
  -- Also the index of status lookups by transaction_id (dedupe_key = transaction_id for business actions).
  UNIQUE (sender_id, action, dedupe_key)
);
-- Open work only: what the sweeper and the queue-depth gauge read.
CREATE INDEX transactions_open ON transactions (state, updated_at)
  WHERE state NOT IN ('callback_sent', 'callback_failed');
CREATE INDEX transactions_failed ON transactions (state) WHERE state = 'callback_failed';

-- reference_id of each request item, for txn status by reference_id_list (scoped to the sender).
CREATE TABLE transaction_refs (
  sender_id    TEXT NOT NULL,
  reference_id TEXT NOT NULL,
  txn          INTEGER NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
  PRIMARY KEY (sender_id, reference_id, txn)
) WITHOUT ROWID;
