-- A status query by transaction_id reads the transaction_id column: since a repeat is known by the registry,
-- transaction_id and message together (dedupe_key), one transaction_id may name several transactions.
CREATE INDEX transactions_sender_txn ON transactions (sender_id, transaction_id);
-- One registry's events after a cursor, or newest first (the console's registry page, registry/events): without it
-- a registry with few events walked every other registry's.
CREATE INDEX registry_events_registry ON registry_events (registry, id);
-- A rotation publishes its new key before it signs (status `next`, signing from `signs_from`), so partners that
-- cache our JWKS know it by then; `signs_from` stays as the time the key began to sign (NULL: at created_at).
-- SQLite cannot change a CHECK in place: the table is copied (a handful of rows), in rowid order, which lists
-- keys created in the same instant in their order.
CREATE TABLE server_keys_new (
  key_id      TEXT PRIMARY KEY,
  alg         TEXT NOT NULL CHECK (alg IN ('ed25519', 'rsa-sha256')),
  public_jwk  TEXT NOT NULL,
  private_der TEXT NOT NULL,
  status      TEXT NOT NULL CHECK (status IN ('next', 'active', 'published', 'retired')),
  created_at  TEXT NOT NULL,
  retired_at  TEXT,
  signs_from  TEXT
);
INSERT INTO server_keys_new (key_id, alg, public_jwk, private_der, status, created_at, retired_at)
  SELECT key_id, alg, public_jwk, private_der, status, created_at, retired_at FROM server_keys ORDER BY rowid;
DROP TABLE server_keys;
ALTER TABLE server_keys_new RENAME TO server_keys;
-- At most one key signs at a time, and at most one waits to.
CREATE UNIQUE INDEX server_keys_one_active ON server_keys (status) WHERE status = 'active';
CREATE UNIQUE INDEX server_keys_one_next ON server_keys (status) WHERE status = 'next';
