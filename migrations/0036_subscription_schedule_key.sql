-- A subscription's duplicate key (src/subscriptions/rules.ts dedupeKey) now holds its schedule — the cron
-- expression and the stored start_time/end_time — as a last member `schedule`, so that one sender may hold the
-- same events at once and as a digest, or in two windows. Keys of subscriptions without a schedule are
-- unchanged; the others are re-keyed by this migration's step in code (src/db/migrate.ts rekeySchedules, with
-- rules.ts rekeyedSchedules), so each gets exactly the key dedupeKey writes: SQL would read a cron's white
-- space, or a frequency it cannot parse as JSON, differently. Re-keying only makes keys more distinct, so the
-- unique index holds.
-- Twin: src/db/pg/migrations/0036_subscription_schedule_key.sql.
SELECT 1;
