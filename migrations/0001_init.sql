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

-- Admin API tokens: only a slow hash (scrypt) is stored; lookup_key (a SHA-256 prefix) finds the row.
CREATE TABLE admin_tokens (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
  source       TEXT NOT NULL DEFAULT 'cli' CHECK (source IN ('cli', 'env')),
  lookup_key   TEXT NOT NULL UNIQUE,
  salt         TEXT NOT NULL,
  hash         TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at   TEXT
);
