-- Twin of migrations/0026_transaction_refs_txn.sql: the retention job's cascaded deletes look refs up by txn.
CREATE INDEX transaction_refs_txn ON transaction_refs (txn);
