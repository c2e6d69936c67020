-- Per-sender settings (issue 12 §4) instead of global switches. NULL in a nullable setting means "the
-- configured default" (DCI_SIGNATURE_POLICY, a 300 s signature window), as limit_minute and limit_day do.
ALTER TABLE senders ADD COLUMN signature_policy TEXT
  CHECK (signature_policy IN ('required', 'optional', 'off'));
-- Largest expires - created of the sender's envelope signatures, in seconds (NULL: 300).
ALTER TABLE senders ADD COLUMN signature_max_window_s INTEGER
  CHECK (signature_max_window_s BETWEEN 1 AND 3600);
-- A test sender may send a configured placeholder (DCI_TEST_SIGNATURE_PLACEHOLDERS) as "no signature"; answers
-- to it carry header.meta.test_mode.
ALTER TABLE senders ADD COLUMN test_mode INTEGER NOT NULL DEFAULT 0 CHECK (test_mode IN (0, 1));
-- Named leniencies, comma separated (src/senders/settings.ts lists them), '' for none.
ALTER TABLE senders ADD COLUMN lenient TEXT NOT NULL DEFAULT '';
-- 'append': /registry/on-search etc. appended to the callback base (unless it already names one); 'exact': the
-- callback base (or header.sender_uri) is the endpoint every callback and notification is POSTed to.
ALTER TABLE senders ADD COLUMN callback_url_mode TEXT NOT NULL DEFAULT 'append'
  CHECK (callback_url_mode IN ('append', 'exact'));
-- How callbacks and notifications authenticate to the sender's receivers.
ALTER TABLE senders ADD COLUMN outbound_auth TEXT NOT NULL DEFAULT 'none'
  CHECK (outbound_auth IN ('none', 'bearer', 'oauth2'));
ALTER TABLE senders ADD COLUMN outbound_token_url TEXT;
ALTER TABLE senders ADD COLUMN outbound_client_id TEXT;
ALTER TABLE senders ADD COLUMN outbound_scope TEXT;
-- The static bearer token or the OAuth2 client secret: sealed with the key-encryption key when one is set
-- (src/keys/kek.ts), else base64; never shown by any API, CLI or log.
ALTER TABLE senders ADD COLUMN outbound_secret TEXT;

-- The error code of a receiver that answered HTTP 2xx with ack_status "ERR" (the delivery was rejected).
ALTER TABLE transactions ADD COLUMN receiver_code TEXT;
ALTER TABLE notifications ADD COLUMN receiver_code TEXT;
