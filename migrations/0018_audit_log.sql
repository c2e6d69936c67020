-- Every admin write (admin API, CLI, console): who, what, on which target, when, and a small detail object that
-- never holds a secret (src/audit/). Append only; purged after DCI_AUDIT_RETENTION_DAYS by a daily schedule.
CREATE TABLE audit_log (
  -- Increases with time: the keyset of every page (newest first).
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  at TEXT NOT NULL,
  -- Where the write came from: api (admin API), cli, console.
  source TEXT NOT NULL CHECK (source IN ('api', 'cli', 'console')),
  -- token (an admin token created by the CLI), env (DCI_ADMIN_TOKEN), cli (a local command).
  actor_kind TEXT NOT NULL CHECK (actor_kind IN ('token', 'env', 'cli')),
  -- The admin token id (token, env) or the operating system user (cli).
  actor TEXT NOT NULL,
  action TEXT NOT NULL,
  target_kind TEXT,
  target_id TEXT,
  -- JSON object, at most a few hundred bytes: field names and non-secret values.
  detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_at ON audit_log (at);
CREATE INDEX audit_log_actor ON audit_log (actor, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
CREATE INDEX audit_log_target ON audit_log (target_kind, target_id, id);
