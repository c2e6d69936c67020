-- Operator console sessions (src/console/session.ts). The cookie holds a random 256-bit id; only its SHA-256
-- is stored, so a copy of the database opens no session. A session belongs to the admin token that logged in:
-- revoking the token ends its sessions at once (every request joins admin_tokens), in every isolate.
CREATE TABLE console_sessions (
  id_hash    TEXT PRIMARY KEY,
  token_id   TEXT NOT NULL,
  created_at INTEGER NOT NULL,            -- epoch ms
  expires_at INTEGER NOT NULL,            -- epoch ms; DCI_CONSOLE_SESSION_TTL after login
  -- One message for the next page (after a redirect), and one secret to show once: sealed with a key derived
  -- from the cookie's id, which the server does not store, so the database alone does not open it.
  flash      TEXT,
  once       TEXT
);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);
