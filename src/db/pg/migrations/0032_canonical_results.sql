-- A transaction's result is stored as the canonical text its callback signature hashes (keys sorted,
-- ASCII-escaped): each attempt signs and sends it as stored, never parsing and serialising it again. Rows stored
-- before keep their plain JSON (0) and are made canonical when their callback is sent.
ALTER TABLE transactions ADD COLUMN result_canonical bigint NOT NULL DEFAULT 0;
