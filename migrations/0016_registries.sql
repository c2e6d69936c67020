-- All five DCI registries in one file (issue 13 §3): src/registries/profile.ts describes the storage model.
--
-- SQLite cannot drop a CHECK or change a UNIQUE in place, so `registrants`, `registry_events` and `subscriptions`
-- are rebuilt the documented way (https://sqlite.org/lang_altertable.html#otheralter): new table, copy, drop,
-- rename, indexes again. migrate.ts runs this migration with foreign keys off (they cannot be switched inside a
-- transaction) and checks them (PRAGMA foreign_key_check) before it commits.
--
-- - `registrants.record_type` is free (`person`/`group` for social, unchanged, so social's partial indexes and
--   compiled queries stay as they are; `{registry}_{kind}` for the others) and each row names its `registry`:
--   external ids are unique per registry. UNIQUE (external_id, registry) leads with the id, so the lookups that
--   read an id alone keep their index.
-- - Identifiers are unique per registry: the same UIN may be in social and crvs.
-- - `registrant_values`: every registry-specific searchable attribute (ProfileAttribute.values), one row per value.
-- - Subscriptions hold registry-specific event types (crvs `death`) and record types.

-- 1. registrants
CREATE TABLE registrants_new (
  id                INTEGER PRIMARY KEY,
  record_type       TEXT NOT NULL,          -- storage record type (src/registries/*: RecordTypeDef.storage)
  external_id       TEXT NOT NULL,          -- the public id (admin API path, @id of the DCI record)
  given_name        TEXT,
  second_name       TEXT,
  surname           TEXT,
  sex               TEXT,                   -- male | female | other | unknown
  birth_date        TEXT,                   -- YYYY-MM-DD
  death_date        TEXT,
  locality          TEXT,                   -- first address
  region            TEXT,
  postal_code       TEXT,
  country           TEXT,
  group_id          INTEGER REFERENCES registrants (id),  -- a person's household
  relationship      TEXT,                   -- RelationshipTypeEnum code towards the household head
  group_type        TEXT,
  group_size        INTEGER,
  poverty_score     REAL,
  registration_date TEXT NOT NULL,
  last_updated      TEXT NOT NULL,
  deleted_at        TEXT,
  registry          TEXT NOT NULL DEFAULT 'social',
  UNIQUE (external_id, registry)
);
INSERT INTO registrants_new (id, record_type, external_id, given_name, second_name, surname, sex, birth_date,
    death_date, locality, region, postal_code, country, group_id, relationship, group_type, group_size,
    poverty_score, registration_date, last_updated, deleted_at, registry)
  SELECT id, record_type, external_id, given_name, second_name, surname, sex, birth_date, death_date, locality,
    region, postal_code, country, group_id, relationship, group_type, group_size, poverty_score,
    registration_date, last_updated, deleted_at, 'social'
  FROM registrants;
DROP TABLE registrants;
ALTER TABLE registrants_new RENAME TO registrants;

-- Social's indexes as 0003 and 0014 made them (a bulk load interrupted before this migration recreates any it
-- had deferred: restoreIndexes skips those that exist).
CREATE INDEX reg_p_birth ON registrants (birth_date) WHERE record_type = 'person' AND deleted_at IS NULL;
CREATE INDEX reg_p_sex_birth ON registrants (sex, birth_date)
  WHERE record_type = 'person' AND deleted_at IS NULL;
CREATE INDEX reg_p_surname ON registrants (surname, given_name)
  WHERE record_type = 'person' AND deleted_at IS NULL;
CREATE INDEX reg_p_given ON registrants (given_name) WHERE record_type = 'person' AND deleted_at IS NULL;
CREATE INDEX reg_p_death ON registrants (death_date) WHERE record_type = 'person' AND deleted_at IS NULL;
CREATE INDEX reg_p_locality ON registrants (locality) WHERE record_type = 'person' AND deleted_at IS NULL;
CREATE INDEX reg_p_region ON registrants (region) WHERE record_type = 'person' AND deleted_at IS NULL;
CREATE INDEX reg_p_postal ON registrants (postal_code) WHERE record_type = 'person' AND deleted_at IS NULL;
CREATE INDEX reg_p_country ON registrants (country) WHERE record_type = 'person' AND deleted_at IS NULL;
CREATE INDEX reg_p_registered ON registrants (registration_date)
  WHERE record_type = 'person' AND deleted_at IS NULL;
CREATE INDEX reg_p_updated ON registrants (last_updated) WHERE record_type = 'person' AND deleted_at IS NULL;
CREATE INDEX reg_group_members ON registrants (group_id) WHERE group_id IS NOT NULL;
CREATE INDEX reg_g_poverty ON registrants (poverty_score) WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_size ON registrants (group_size) WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_type ON registrants (group_type) WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_locality ON registrants (locality) WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_region ON registrants (region) WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_registered ON registrants (registration_date)
  WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_updated ON registrants (last_updated) WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_p_given_ci ON registrants (given_name COLLATE NOCASE)
  WHERE record_type = 'person' AND deleted_at IS NULL AND given_name IS NOT NULL;
CREATE INDEX reg_p_second_ci ON registrants (second_name COLLATE NOCASE)
  WHERE record_type = 'person' AND deleted_at IS NULL AND second_name IS NOT NULL;
CREATE INDEX reg_p_surname_ci ON registrants (surname COLLATE NOCASE)
  WHERE record_type = 'person' AND deleted_at IS NULL AND surname IS NOT NULL;
-- The other registries' search indexes are partial on their own storage record types and are created when a
-- registry is first written (src/registries/indexes.ts): a server that holds only social pays for none of them.

-- 2. identifiers: unique per registry.
ALTER TABLE identifiers ADD COLUMN registry TEXT NOT NULL DEFAULT 'social';
DROP INDEX identifiers_live;
CREATE UNIQUE INDEX identifiers_live ON identifiers (id_type, id_value, registry) WHERE live = 1;

-- 3. registry-specific searchable values. The key leads with (attr, value): every comparison of an attribute is
-- a range of this key. A deleted registrant's rows stay (searches read live registrants only); a writer replaces
-- a registrant's rows by their keys, from the record it replaces (as registrant_contacts).
CREATE TABLE registrant_values (
  attr          TEXT NOT NULL,
  value         NOT NULL,                  -- text or number, as the attribute's kind says (no affinity)
  registrant_id INTEGER NOT NULL REFERENCES registrants (id),
  PRIMARY KEY (attr, value, registrant_id)
) WITHOUT ROWID;

-- 4. registry_events: any storage record type. The id sequence carries over (a cursor never sees an id twice).
CREATE TABLE registry_events_new (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  registry      TEXT NOT NULL,
  event_type    TEXT NOT NULL CHECK (event_type IN ('registration', 'update', 'delete')),
  record_type   TEXT NOT NULL,
  registrant_id INTEGER NOT NULL,
  snapshot      TEXT NOT NULL,
  created_at    TEXT NOT NULL
);
INSERT INTO registry_events_new (id, registry, event_type, record_type, registrant_id, snapshot, created_at)
  SELECT id, registry, event_type, record_type, registrant_id, snapshot, created_at FROM registry_events;
DELETE FROM sqlite_sequence WHERE name = 'registry_events_new';
INSERT INTO sqlite_sequence (name, seq) SELECT 'registry_events_new', seq FROM sqlite_sequence
  WHERE name = 'registry_events';
DROP TABLE registry_events;
ALTER TABLE registry_events_new RENAME TO registry_events;
CREATE INDEX registry_events_lazy ON registry_events (registrant_id) WHERE snapshot = '';

-- 5. subscriptions: registry-specific event types (crvs `death`, ...) and record types.
CREATE TABLE subscriptions_new (
  id                   INTEGER PRIMARY KEY,
  code                 TEXT NOT NULL UNIQUE,
  sender_id            TEXT NOT NULL,
  registry             TEXT NOT NULL,
  reg_type             TEXT,
  reg_event_type       TEXT NOT NULL,             -- registration | update | delete | a profile event type
  record_type          TEXT NOT NULL,             -- storage record type
  notify_record_type   TEXT NOT NULL,
  filter_type          TEXT,
  filter               TEXT,
  frequency            TEXT,
  dedupe_key           TEXT NOT NULL,
  callback_url         TEXT NOT NULL,
  start_time           TEXT,
  end_time             TEXT,
  state                TEXT NOT NULL CHECK (state IN ('pending', 'active', 'cancelled', 'expired', 'error')),
  from_event_id        INTEGER NOT NULL DEFAULT 0,
  correlation_id       TEXT NOT NULL,
  reference_id         TEXT NOT NULL,
  locale               TEXT,
  consecutive_failures INTEGER NOT NULL DEFAULT 0,
  last_error           TEXT,
  lease_until          TEXT,
  cancelled_by         TEXT,
  created_at           TEXT NOT NULL,
  updated_at           TEXT NOT NULL,
  activated_at         TEXT,
  ended_at             TEXT,
  UNIQUE (correlation_id, reference_id)
);
INSERT INTO subscriptions_new SELECT id, code, sender_id, registry, reg_type, reg_event_type, record_type,
    notify_record_type, filter_type, filter, frequency, dedupe_key, callback_url, start_time, end_time, state,
    from_event_id, correlation_id, reference_id, locale, consecutive_failures, last_error, lease_until,
    cancelled_by, created_at, updated_at, activated_at, ended_at
  FROM subscriptions;
DROP TABLE subscriptions;
ALTER TABLE subscriptions_new RENAME TO subscriptions;
CREATE UNIQUE INDEX subscriptions_live ON subscriptions (sender_id, dedupe_key)
  WHERE state IN ('pending', 'active', 'error');
CREATE INDEX subscriptions_sender ON subscriptions (sender_id, state);
CREATE INDEX subscriptions_fanout ON subscriptions (state, registry, reg_event_type, record_type);
CREATE INDEX subscriptions_end ON subscriptions (end_time) WHERE end_time IS NOT NULL
  AND state IN ('pending', 'active', 'error');
