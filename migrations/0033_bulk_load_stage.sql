-- A bulk load's identifier, contact and value rows, appended here batch by batch in arrival order and merged into
-- their tables once, in key order, when the load ends (src/registry/bulk.ts, mergeStaged). Their tables are keyed
-- by values such as national ids and phone numbers: each batch's rows land all over those trees, so every batch
-- rewrote most of their pages (at 10M persons, twenty times). A crash mid-load leaves rows here: they are merged
-- at the next start or bulk load, after the deferred indexes are rebuilt. Same columns (and affinity) as the tables.
CREATE TABLE load_identifiers (
  id_value      TEXT NOT NULL,
  id_type       TEXT NOT NULL,
  registrant_id INTEGER NOT NULL,
  registry      TEXT NOT NULL
);
CREATE TABLE load_contacts (
  kind          TEXT NOT NULL,
  value         TEXT NOT NULL COLLATE NOCASE,
  registrant_id INTEGER NOT NULL
);
CREATE TABLE load_values (
  attr          TEXT NOT NULL,
  value         NOT NULL,
  registrant_id INTEGER NOT NULL
);
