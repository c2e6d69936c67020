-- DR's impairment_level and impairment_cause became searchable attributes (src/registries/dr/record_types.ts:
-- any of a person's impairments, its code list's label upper-cased): every writer stores their values with the
-- record from now on; here, those of the records stored before. A deleted registrant's values are written as
-- every writer leaves them (searches read live registrants only). Labels are ASCII, so upper() folds them as
-- the code's toUpperCase() does.
INSERT OR IGNORE INTO registrant_values (attr, value, registrant_id)
  SELECT a.attr, upper(json_extract(j.value, '$.' || a.attr)), r.id
  FROM registrants r
    JOIN registrant_data d ON d.id = r.id
    JOIN json_each(d.data, '$.details.disability_details') j
    JOIN (SELECT 'impairment_level' AS attr UNION ALL SELECT 'impairment_cause') a
  WHERE r.record_type = 'dr_person' AND j.type = 'object'
    AND json_type(j.value, '$.' || a.attr) = 'text' AND json_extract(j.value, '$.' || a.attr) <> '';
