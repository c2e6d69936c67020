-- A day of the dashboard's per-minute history (src/obs/history.ts): the main isolate of the worker process samples
-- the process's counters (every isolate's, merged) once a minute and writes what changed since the last sample,
-- plus the queue depth; rows older than 25 hours are pruned at each sample. Nothing is written per request.
CREATE TABLE metrics_history (
  -- 1: one minute's row; 10: the 10-minute bucket's row (the day chart reads these, 144 per series a day).
  span INTEGER NOT NULL CHECK (span IN (1, 10)),
  -- Unix time in whole minutes: the sample's minute (span 1) or its bucket's first minute (span 10).
  minute INTEGER NOT NULL,
  -- requests (registry, sender, label = HTTP status), callbacks and notifications (label = outcome: sent,
  -- retry, failed), queue (label = transaction state, or "notifications" for pending notifications).
  metric TEXT NOT NULL,
  registry TEXT NOT NULL DEFAULT '',
  sender TEXT NOT NULL DEFAULT '',
  label TEXT NOT NULL DEFAULT '',
  -- Counters: the increase during the span; queue: the deepest sample in it.
  value REAL NOT NULL,
  PRIMARY KEY (span, minute, metric, registry, sender, label)
) WITHOUT ROWID;
