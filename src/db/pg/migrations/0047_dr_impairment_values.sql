-- Twin of migrations/0047_dr_impairment_values.sql: the values of DR's new searchable attributes impairment_level
-- and impairment_cause for the records stored before them (registrant_values.value is jsonb: a JSON string).
INSERT INTO registrant_values (attr, value, registrant_id)
  SELECT DISTINCT a.attr, to_jsonb(upper(j.value ->> a.attr)), r.id
  FROM registrants r
    JOIN registrant_data d ON d.id = r.id
    CROSS JOIN LATERAL jsonb_array_elements(
      CASE WHEN jsonb_typeof(d.data::jsonb -> 'details' -> 'disability_details') = 'array'
        THEN d.data::jsonb -> 'details' -> 'disability_details' ELSE '[]'::jsonb END) j
    CROSS JOIN (VALUES ('impairment_level'), ('impairment_cause')) a (attr)
  WHERE r.record_type = 'dr_person' AND jsonb_typeof(j) = 'object'
    AND jsonb_typeof(j -> a.attr) = 'string' AND j ->> a.attr <> ''
ON CONFLICT DO NOTHING;
