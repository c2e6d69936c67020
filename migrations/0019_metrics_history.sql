-- A day of the dashboard's per-minute history (src/obs/history.ts): the main isolate of the worker process samples
-- the process's counters (every isolate's, merged) once a minute and writes what changed since the last sample,
-- plus the queue depth; rows older than 25 hours are pruned at each sample. Nothing is written per request.
CREATE TABLE metrics_history (
  -- Unix time in whole minutes: the minute the sample closes.
  minute INTEGER NOT NULL,
  -- requests (registry, sender, label = HTTP status), callbacks and notifications (label = outcome: sent,
  -- retry, failed), queue (label = transaction state, or "notifications" for pending notifications).
  metric TEXT NOT NULL,
  registry TEXT NOT NULL DEFAULT '',
  sender TEXT NOT NULL DEFAULT '',
  label TEXT NOT NULL DEFAULT '',
  -- Counters: the increase during the minute; queue: the depth at the sample.
  value REAL NOT NULL,
  PRIMARY KEY (minute, metric, registry, sender, label)
) WITHOUT ROWID;
