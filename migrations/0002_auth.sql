-- Authentication: senders, their public keys, OAuth2 clients, the replay guard and rate-limit counters.
CREATE TABLE senders (
  sender_id                  TEXT PRIMARY KEY,
  name                       TEXT NOT NULL,
  active                     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  callback_base_url          TEXT,
  jwks_url                   TEXT,
  limit_minute               INTEGER,          -- NULL: the configured default
  limit_day                  INTEGER,          -- NULL: the configured default
  auto_approve_subscriptions INTEGER NOT NULL DEFAULT 0 CHECK (auto_approve_subscriptions IN (0, 1)),
  keys_version               INTEGER NOT NULL DEFAULT 0, -- bumped on every key change: invalidates key caches
  jwks_fetched_at            TEXT,
  jwks_fetch_status          TEXT,             -- 'ok' or 'error'
  jwks_fetch_error           TEXT,
  created_at                 TEXT NOT NULL,
  updated_at                 TEXT NOT NULL
);

CREATE TABLE sender_keys (
  sender_id  TEXT NOT NULL REFERENCES senders (sender_id) ON DELETE CASCADE,
  key_id     TEXT NOT NULL,
  alg        TEXT NOT NULL CHECK (alg IN ('ed25519', 'rsa-sha256')),
  public_jwk TEXT NOT NULL,
  source     TEXT NOT NULL CHECK (source IN ('manual', 'jwks')),
  active     INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at TEXT NOT NULL,
  PRIMARY KEY (sender_id, key_id)
);

CREATE TABLE oauth_clients (
  client_id         TEXT PRIMARY KEY,
  sender_id         TEXT NOT NULL REFERENCES senders (sender_id) ON DELETE CASCADE,
  name              TEXT,
  secret_hash       TEXT NOT NULL,             -- scrypt; the secret itself is shown once and never stored
  scopes            TEXT NOT NULL,             -- space separated
  active            INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
  created_at        TEXT NOT NULL,
  secret_rotated_at TEXT,
  revoked_at        TEXT
);
CREATE INDEX oauth_clients_sender ON oauth_clients (sender_id);

-- (sender_id, message_id) seen within the replay window; purged on a schedule.
CREATE TABLE replay_guard (
  sender_id  TEXT NOT NULL,
  message_id TEXT NOT NULL,
  seen_at_ms INTEGER NOT NULL,
  PRIMARY KEY (sender_id, message_id)
) WITHOUT ROWID;
CREATE INDEX replay_guard_seen ON replay_guard (seen_at_ms);

-- Rolling-minute counters in one-second buckets (scope 'sender' or 'token_ip'); old buckets are purged.
CREATE TABLE rate_buckets (
  scope  TEXT NOT NULL,
  key    TEXT NOT NULL,
  second INTEGER NOT NULL,
  count  INTEGER NOT NULL,
  PRIMARY KEY (scope, key, second)
) WITHOUT ROWID;

-- Requests per sender per UTC day; a row whose day is not today counts as zero (lazy catch-up of a missed reset).
CREATE TABLE rate_days (
  sender_id TEXT PRIMARY KEY,
  day       TEXT NOT NULL,
  count     INTEGER NOT NULL
) WITHOUT ROWID;
