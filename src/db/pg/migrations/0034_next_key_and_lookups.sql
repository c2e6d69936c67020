-- A status query by transaction_id reads the transaction_id column: since a repeat is known by the registry,
-- transaction_id and message together (dedupe_key), one transaction_id may name several transactions.
CREATE INDEX transactions_sender_txn ON transactions (sender_id, transaction_id);
-- One registry's events after a cursor, or newest first (the console's registry page, registry/events): without it
-- a registry with few events walked every other registry's.
CREATE INDEX registry_events_registry ON registry_events (registry, id);
-- A rotation publishes its new key before it signs (status `next`, signing from `signs_from`), so partners that
-- cache our JWKS know it by then; `signs_from` stays as the time the key began to sign (NULL: at created_at).
ALTER TABLE server_keys DROP CONSTRAINT server_keys_status_check;
ALTER TABLE server_keys ADD CONSTRAINT server_keys_status_check
  CHECK (status IN ('next', 'active', 'published', 'retired'));
ALTER TABLE server_keys ADD COLUMN signs_from text;
-- At most one key waits to sign.
CREATE UNIQUE INDEX server_keys_one_next ON server_keys (status) WHERE status = 'next';
