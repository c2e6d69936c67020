-- Phone numbers are search keys with their ASCII letters lower-cased, as e-mail addresses are
-- (src/registry/contacts.ts): a phone number with letters (an extension, a vanity number) is then matched whatever
-- their case on both backends, and by subscription filters as by searches. NOCASE keys kept two spellings from
-- ever being stored for one registrant, so each row takes its lower-cased value in place. GLOB tells case apart.
UPDATE registrant_contacts SET value = lower(value) WHERE kind = 'phone' AND value GLOB '*[A-Z]*';
UPDATE load_contacts SET value = lower(value) WHERE kind = 'phone' AND value GLOB '*[A-Z]*';
