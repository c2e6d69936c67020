-- Queries real clients send (issue 12 §5).
--
-- Case-insensitive name indexes: `name` (any name part) compares with NOCASE, and a LIKE prefix
-- (`like "Jo%"`, CEL startsWith) is an index range only on a NOCASE index (SQLite's LIKE is case-insensitive).
-- Named reg_p_* so a bulk load defers and rebuilds them with the other search indexes (bulk.ts). NULL parts
-- are left out (`=`, IN and LIKE imply IS NOT NULL, so the planner still uses them): most persons have no
-- second name, and every index entry is paid for on each write.
CREATE INDEX reg_p_given_ci ON registrants (given_name COLLATE NOCASE)
  WHERE record_type = 'person' AND deleted_at IS NULL AND given_name IS NOT NULL;
CREATE INDEX reg_p_second_ci ON registrants (second_name COLLATE NOCASE)
  WHERE record_type = 'person' AND deleted_at IS NULL AND second_name IS NOT NULL;
CREATE INDEX reg_p_surname_ci ON registrants (surname COLLATE NOCASE)
  WHERE record_type = 'person' AND deleted_at IS NULL AND surname IS NOT NULL;

-- Phone numbers and e-mail addresses, normalised (src/registry/contacts.ts: phones without spaces and -().\/,
-- e-mails lower-cased), one row per value: `phone` and `email` are lookups of this key. A deleted registrant's
-- rows stay (searches read live registrants only; subscription filters still match the deleted record). No
-- index by registrant: a writer replaces a registrant's rows by their keys, from the record it replaces.
CREATE TABLE registrant_contacts (
  kind          TEXT NOT NULL CHECK (kind IN ('phone', 'email')),
  value         TEXT NOT NULL COLLATE NOCASE,
  registrant_id INTEGER NOT NULL REFERENCES registrants (id),
  PRIMARY KEY (kind, value, registrant_id)
) WITHOUT ROWID;

INSERT OR IGNORE INTO registrant_contacts (kind, value, registrant_id)
  SELECT 'phone', v, id FROM (
    SELECT d.id AS id,
      replace(replace(replace(replace(replace(replace(j.value, ' ', ''), '-', ''), '(', ''), ')', ''),
        '.', ''), '/', '') AS v
    FROM registrant_data d, json_each(d.data, '$.phones') j WHERE j.type = 'text')
  WHERE v <> '';
INSERT OR IGNORE INTO registrant_contacts (kind, value, registrant_id)
  SELECT 'email', v, id FROM (
    SELECT d.id AS id, lower(trim(j.value)) AS v
    FROM registrant_data d, json_each(d.data, '$.emails') j WHERE j.type = 'text')
  WHERE v <> '';
