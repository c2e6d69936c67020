-- Registry: registrants (persons and groups/households), their identifiers, and the change events.
--
-- Search reads only live rows of one record type, so every search index is PARTIAL on
-- `record_type = '<type>' AND deleted_at IS NULL`: the indexes stay small and the compiled queries carry
-- exactly those two terms (as SQL constants) so the planner can use them. Soft-deleted rows stay in the
-- table so subscriptions can still evaluate filters against them and send their identifiers.
CREATE TABLE registrants (
  id                INTEGER PRIMARY KEY,
  record_type       TEXT NOT NULL CHECK (record_type IN ('person', 'group')),
  external_id       TEXT NOT NULL UNIQUE,   -- the public id (admin API path, @id of the DCI record)
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
  deleted_at        TEXT
);
-- The full record (JSON of the stored registrant) lives apart so `registrants` rows stay narrow: scans,
-- index builds and the page cache then cover many more rows per page.
CREATE TABLE registrant_data (
  id   INTEGER PRIMARY KEY REFERENCES registrants (id),
  data TEXT NOT NULL
);

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
-- Members of a household (also used by household attributes on person searches and by the Group mapping).
CREATE INDEX reg_group_members ON registrants (group_id) WHERE group_id IS NOT NULL;

CREATE INDEX reg_g_poverty ON registrants (poverty_score) WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_size ON registrants (group_size) WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_type ON registrants (group_type) WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_locality ON registrants (locality) WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_region ON registrants (region) WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_registered ON registrants (registration_date)
  WHERE record_type = 'group' AND deleted_at IS NULL;
CREATE INDEX reg_g_updated ON registrants (last_updated) WHERE record_type = 'group' AND deleted_at IS NULL;

-- Identifiers (type and value; several per registrant). The primary key leads with the value so a lookup
-- by value alone (attribute `identifier`) and by type and value both use it. A live (type, value) pair is
-- unique; a deleted registrant's identifiers stay (live = 0) so filters still match it.
CREATE TABLE identifiers (
  id_value      TEXT NOT NULL,
  id_type       TEXT NOT NULL,
  registrant_id INTEGER NOT NULL REFERENCES registrants (id),
  live          INTEGER NOT NULL DEFAULT 1,
  PRIMARY KEY (id_value, id_type, registrant_id)
) WITHOUT ROWID;
CREATE UNIQUE INDEX identifiers_live ON identifiers (id_type, id_value) WHERE live = 1;

-- Every change to the registry, written in the same transaction as the change. The id is the event order
-- (AUTOINCREMENT: never reused, so a subscription cursor never skips or repeats an event).
CREATE TABLE registry_events (
  id            INTEGER PRIMARY KEY AUTOINCREMENT,
  registry      TEXT NOT NULL,
  event_type    TEXT NOT NULL CHECK (event_type IN ('registration', 'update', 'delete')),
  record_type   TEXT NOT NULL CHECK (record_type IN ('person', 'group')),
  registrant_id INTEGER NOT NULL,
  snapshot      TEXT NOT NULL,            -- the registrant JSON after the change (delete: as it was); mapped to DCI on read
  created_at    TEXT NOT NULL
);

-- Search indexes dropped for a bulk load into an empty registry, recreated at its end (or, after a crash,
-- at the next start or import).
CREATE TABLE registry_deferred_indexes (
  name TEXT PRIMARY KEY,
  sql  TEXT NOT NULL
);
