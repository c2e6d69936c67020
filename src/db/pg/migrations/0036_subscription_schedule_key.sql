-- A subscription's duplicate key (src/subscriptions/rules.ts dedupeKey) now holds its schedule — the cron
-- expression and the stored start_time/end_time — as a last member `schedule`, so that one sender may hold the
-- same events at once and as a digest, or in two windows. Keys of subscriptions without a schedule are
-- unchanged; the others are re-keyed here as dedupeKey writes them (the cron trimmed, runs of spaces made one).
-- Re-keying only makes keys more distinct, so the unique index holds.
-- Twin: migrations/0036_subscription_schedule_key.sql.
UPDATE subscriptions
SET dedupe_key = left(dedupe_key, -1) || ',"schedule":{"cron":' ||
  COALESCE(to_json(CASE WHEN jsonb_typeof(frequency::jsonb -> 'frequency') = 'string'
    THEN nullif(regexp_replace(btrim(frequency::jsonb ->> 'frequency'), ' {2,}', ' ', 'g'), '') END)::text,
    'null') ||
  ',"end":' || COALESCE(to_json(end_time)::text, 'null') ||
  ',"start":' || COALESCE(to_json(start_time)::text, 'null') || '}}'
WHERE start_time IS NOT NULL OR end_time IS NOT NULL OR (jsonb_typeof(frequency::jsonb -> 'frequency') = 'string'
  AND btrim(frequency::jsonb ->> 'frequency') <> '');
