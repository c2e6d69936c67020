-- Admin tokens are `dcia_<id>_<secret>`: the row is found by its id and holds only a salted scrypt hash.
-- lookup_key (an unsalted SHA-256 prefix of the token, which let a stolen database test guesses quickly) is
-- kept only for tokens created before this migration: they are 256-bit random, so it reveals nothing a guess
-- could use, and they keep working until revoked (the server warns at start while any is active).
CREATE TABLE admin_tokens_v2 (
  id           TEXT PRIMARY KEY,
  name         TEXT NOT NULL,
  role         TEXT NOT NULL CHECK (role IN ('admin', 'viewer')),
  source       TEXT NOT NULL DEFAULT 'cli' CHECK (source IN ('cli', 'env')),
  lookup_key   TEXT UNIQUE,                -- legacy tokens only; NULL for every token created since
  salt         TEXT NOT NULL,
  hash         TEXT NOT NULL,
  created_at   TEXT NOT NULL,
  last_used_at TEXT,
  revoked_at   TEXT
);
INSERT INTO admin_tokens_v2 (id, name, role, source, lookup_key, salt, hash, created_at, last_used_at, revoked_at)
  SELECT id, name, role, source, lookup_key, salt, hash, created_at, last_used_at, revoked_at FROM admin_tokens;
DROP TABLE admin_tokens;
ALTER TABLE admin_tokens_v2 RENAME TO admin_tokens;
-- DCI_ADMIN_TOKEN may be a phrase an operator chose: its row loses the fast lookup key. The server compares the
-- presented token with the configured one; the salted hash only tells, at start, whether it changed.
UPDATE admin_tokens SET lookup_key = NULL WHERE source = 'env';
