-- A transaction's result lives in a table of its own, stored once as the canonical text its callback's signature
-- hashes (keys sorted, ASCII-escaped): each callback attempt signs and sends it as stored, never parsing and
-- serialising it again, and the transaction's own row, rewritten whole by each state change (the processing claim,
-- the outcome, each callback claim and outcome), no longer carries an answer of up to a megabyte each time.
-- Results stored before stay where they were, as plain JSON, under the column's new name: never written again,
-- read when a row has no result here, and made canonical when their callback is sent.
CREATE TABLE transaction_results (
  txn    INTEGER PRIMARY KEY REFERENCES transactions (id) ON DELETE CASCADE,
  result TEXT NOT NULL
);
ALTER TABLE transactions RENAME COLUMN result TO legacy_result;
