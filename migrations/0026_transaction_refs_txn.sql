-- Deleting a transaction (the retention job, src/transactions/retention.ts) cascades to transaction_refs, whose
-- primary key starts with sender_id: without an index on txn each cascaded delete scanned the whole table.
CREATE INDEX transaction_refs_txn ON transaction_refs (txn);
