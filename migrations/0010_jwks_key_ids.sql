-- Key ids fetched from a JWKS once skipped the checks of keys added by hand (a kid "|" was stored as the key id
-- "", which no admin call can name). Such keys are dropped: the next fetch brings back the valid ones.
UPDATE senders SET keys_version = keys_version + 1 WHERE sender_id IN (
  SELECT sender_id FROM sender_keys WHERE source = 'jwks'
    AND (key_id = '' OR length(key_id) > 99 OR key_id GLOB '*[^A-Za-z0-9._:-]*'));
DELETE FROM sender_keys WHERE source = 'jwks'
  AND (key_id = '' OR length(key_id) > 99 OR key_id GLOB '*[^A-Za-z0-9._:-]*');
