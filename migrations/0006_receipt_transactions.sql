-- Async receipts become transactions (action 'receipt', answered by an on-receipt callback), so an accepted
-- receipt survives a crash like any other async request. SQLite cannot alter a CHECK constraint: the table is
-- rebuilt with the wider action list. Renaming keeps transaction_refs' foreign key pointing at the old table,
-- so both tables are rebuilt, children dropped first (no cascade runs), then the indexes made again.
ALTER TABLE transaction_refs RENAME TO transaction_refs_0005;
ALTER TABLE transactions RENAME TO transactions_0005;

CREATE TABLE transactions (
  id                    INTEGER PRIMARY KEY,
  sender_id             TEXT NOT NULL,
  transaction_id        TEXT NOT NULL,
  -- transaction_id for search/subscribe/unsubscribe; the message_id for txn-status and receipt.
  dedupe_key            TEXT NOT NULL,
  message_id            TEXT NOT NULL,
  correlation_id        TEXT NOT NULL UNIQUE,
  action                TEXT NOT NULL CHECK (action IN ('search', 'subscribe', 'unsubscribe', 'txn-status',
                          'receipt')),
  registry              TEXT NOT NULL,
  callback_url          TEXT NOT NULL,
  request_header        TEXT NOT NULL,
  request_message       TEXT NOT NULL,
  ack                   TEXT NOT NULL,
  state                 TEXT NOT NULL CHECK (state IN ('received', 'pending', 'processing', 'succeeded',
                          'rejected', 'callback_sent', 'callback_failed')),
  outcome               TEXT CHECK (outcome IN ('succ', 'rjct')),
  status_reason_code    TEXT,
  status_reason_message TEXT,
  total_count           INTEGER,
  completed_count       INTEGER,
  result                TEXT,
  callback_message_id   TEXT,
  attempts              INTEGER NOT NULL DEFAULT 0,
  last_error            TEXT,
  next_attempt_at       TEXT,
  lease_owner           TEXT,
  lease_until           TEXT,
  created_at            TEXT NOT NULL,
  updated_at            TEXT NOT NULL,
  processed_at          TEXT,
  completed_at          TEXT,
  UNIQUE (sender_id, action, dedupe_key)
);
INSERT INTO transactions SELECT * FROM transactions_0005;

CREATE TABLE transaction_refs (
  sender_id    TEXT NOT NULL,
  reference_id TEXT NOT NULL,
  txn          INTEGER NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
  PRIMARY KEY (sender_id, reference_id, txn)
) WITHOUT ROWID;
INSERT INTO transaction_refs SELECT * FROM transaction_refs_0005;

DROP TABLE transaction_refs_0005;
DROP TABLE transactions_0005;

CREATE INDEX transactions_open ON transactions (state, updated_at)
  WHERE state NOT IN ('callback_sent', 'callback_failed');
CREATE INDEX transactions_failed ON transactions (state) WHERE state = 'callback_failed';
