-- Foundation: the server's own signing keys.
CREATE TABLE server_keys (
  key_id      TEXT PRIMARY KEY,
  alg         TEXT NOT NULL CHECK (alg IN ('ed25519', 'rsa-sha256')),
  public_jwk  TEXT NOT NULL,
  private_der TEXT NOT NULL,        -- PKCS#8 DER, base64; never leaves this table through any API or log
  status      TEXT NOT NULL CHECK (status IN ('active', 'published', 'retired')),
  created_at  TEXT NOT NULL,
  retired_at  TEXT
);
-- At most one key signs at a time.
CREATE UNIQUE INDEX server_keys_one_active ON server_keys (status) WHERE status = 'active';
