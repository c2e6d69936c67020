-- Twin of migrations/0027_job_runs.sql: one row per scheduled job and due time, so each cron job runs once across
-- every instance on this database.
CREATE TABLE job_runs (
  name       text NOT NULL,
  slot       text NOT NULL,
  claimed_at text NOT NULL,
  PRIMARY KEY (name, slot)
);
