-- Twin of migrations/0044_phone_contacts_lower.sql: phone numbers stored with their ASCII letters lower-cased (the
-- database's C locale folds ASCII only, as the code does). A registrant's spellings that differ only in case become
-- one row: the lower-case one if stored, else the first in byte order.
DELETE FROM registrant_contacts c USING (
  SELECT kind, value, registrant_id, row_number() OVER (
    PARTITION BY registrant_id, lower(value) ORDER BY (value = lower(value)) DESC, value) AS n
  FROM registrant_contacts
  WHERE kind = 'phone' AND registrant_id IN (
    SELECT registrant_id FROM registrant_contacts WHERE kind = 'phone' AND value <> lower(value))
) x
WHERE x.n > 1 AND c.kind = x.kind AND c.value = x.value AND c.registrant_id = x.registrant_id;
UPDATE registrant_contacts SET value = lower(value) WHERE kind = 'phone' AND value <> lower(value);
