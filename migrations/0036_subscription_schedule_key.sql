-- A subscription's duplicate key (src/subscriptions/rules.ts dedupeKey) now holds its schedule — the cron
-- expression and the stored start_time/end_time — as a last member `schedule`, so that one sender may hold the
-- same events at once and as a digest, or in two windows. Keys of subscriptions without a schedule are
-- unchanged; the others are re-keyed here as dedupeKey writes them (the cron trimmed, runs of up to 8 spaces
-- made one). Re-keying only makes keys more distinct, so the unique index holds.
-- Twin: src/db/pg/migrations/0036_subscription_schedule_key.sql.
UPDATE subscriptions
SET dedupe_key = substr(dedupe_key, 1, length(dedupe_key) - 1) || ',"schedule":{"cron":' ||
  json_quote(CASE WHEN json_valid(frequency) AND json_type(frequency, '$.frequency') = 'text'
    THEN nullif(replace(replace(replace(trim(json_extract(frequency, '$.frequency')), '  ', ' '), '  ', ' '),
      '  ', ' '), '') END) ||
  ',"end":' || json_quote(end_time) || ',"start":' || json_quote(start_time) || '}}'
WHERE start_time IS NOT NULL OR end_time IS NOT NULL OR (json_valid(frequency)
  AND json_type(frequency, '$.frequency') = 'text' AND trim(json_extract(frequency, '$.frequency')) <> '');
