-- Every callback delivery attempt of a transaction, for operators (admin API, CLI `txn show`, console): when, how
-- long, where, the receiver's HTTP status and ERR code, and why it failed. Written in the same write as the
-- transaction's state change after the attempt (src/transactions/attempts.ts). Bounded per transaction: the last
-- 50 are kept; `attempt` keeps counting across operator retries, so the ones dropped are 1 .. MIN(attempt) - 1.
-- Never a credential: the URL is the transaction's callback URL (refused with userinfo), never a header.
-- Deleting a transaction deletes its attempts (ON DELETE CASCADE).
CREATE TABLE callback_attempts (
  txn           INTEGER NOT NULL REFERENCES transactions (id) ON DELETE CASCADE,
  -- 1, 2, … per transaction, across operator retries (transactions.attempts restarts at 0 on a retry).
  attempt       INTEGER NOT NULL,
  started_at    TEXT NOT NULL,
  duration_ms   INTEGER NOT NULL,
  url           TEXT NOT NULL,
  -- sent (delivered), retry (a later attempt was scheduled), failed (no further attempt: callback_failed).
  outcome       TEXT NOT NULL CHECK (outcome IN ('sent', 'retry', 'failed')),
  -- The receiver's HTTP status; NULL when none came (refused URL, network error, timeout).
  http_status   INTEGER,
  -- The receiver's ERR code when it answered 2xx with ack_status ERR (only a safe code, never its message).
  receiver_code TEXT,
  -- Why the attempt failed, at most 500 characters; NULL when delivered.
  error         TEXT,
  PRIMARY KEY (txn, attempt)
) WITHOUT ROWID;
