-- The place hierarchy of the DCI locations API (GET /.well-known/locations.json): countries, regions,
-- sub-regions and localities with their codes, names and parents. Replaced whole, in one transaction, by
-- `dci-server registry import-locations FILE` or seeded by the demo (src/locations/).
CREATE TABLE locations (
  code TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  level TEXT NOT NULL CHECK (level IN ('country', 'region', 'sub_region', 'locality')),
  -- NULL for a root. Deferred: a replace deletes and re-inserts every row in one transaction.
  parent_code TEXT REFERENCES locations (code) DEFERRABLE INITIALLY DEFERRED,
  -- Identifiers beside the code, JSON [{"name": ..., "identifier": ...}], or NULL.
  identifiers TEXT,
  -- The place's position in the imported file: the document lists places in this order.
  position INTEGER NOT NULL UNIQUE
);
CREATE INDEX locations_parent ON locations (parent_code);

-- One row once a hierarchy exists: its version (the document's ETag), origin and time of the last replace.
CREATE TABLE location_hierarchy (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  version INTEGER NOT NULL,
  source TEXT NOT NULL,
  updated_at TEXT NOT NULL,
  places INTEGER NOT NULL
);
