-- One row per scheduled job and due time (src/jobs/job_runs.ts): the instance that inserts it runs the job, every
-- other instance firing for the same minute finds the row and skips. Rows older than a week are deleted as new
-- ones are claimed.
CREATE TABLE job_runs (
  name       TEXT NOT NULL,
  slot       TEXT NOT NULL,
  claimed_at TEXT NOT NULL,
  PRIMARY KEY (name, slot)
) WITHOUT ROWID;
