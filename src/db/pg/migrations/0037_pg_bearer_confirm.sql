-- The bearer check's cached client rows on PostgreSQL (src/auth/bearer.ts, src/auth/pg_bearer_store.ts).
--
-- dci_bearer_row is the bearer lookup (src/auth/bearer_store.ts, BEARER_LOOKUP: the client, its sender and the
-- status of the server key that signed the token) rendered as one JSON text, or null for no such client. The
-- bearer check reads it; an instance keeps it and sends it back with a later request's admission, and dci_admit
-- reads it again in the admission's own statement: a row that changed in between (a client revoked, a sender
-- disabled, a scope or a limit changed, a key retired) answers outcome 'stale', nothing counted or recorded, and
-- the request is checked again on a fresh read. One function renders the row for both, so they always compare
-- like with like.
CREATE FUNCTION dci_bearer_row(p_client text, p_key_id text, p_key_alg text) RETURNS text
LANGUAGE sql STABLE AS $$
  SELECT row_to_json(l)::text FROM (
    SELECT c.active, c.sender_id, c.scopes, c.secret_rotated_at, s.active AS sender_active,
      s.created_at AS sender_created_at, s.keys_version, s.limit_minute, s.limit_day, s.signature_policy,
      s.signature_max_window_s, s.test_mode, s.lenient,
      (SELECT k.status FROM server_keys k WHERE k.key_id = p_key_id AND k.alg = p_key_alg) AS key_status
    FROM oauth_clients c JOIN senders s USING (sender_id) WHERE c.client_id = p_client
  ) l
$$;

-- dci_admit of migration 0035 with a cached bearer row to confirm first (p_bearer_client null: none). A new
-- overload beside 0035's, which instances of the previous version call until they are replaced.
CREATE FUNCTION dci_admit(
  p_sender text, p_now_s bigint, p_window_start bigint, p_today text, p_minute bigint, p_day bigint,
  p_count boolean, p_message_id text, p_now_ms bigint, p_replay_before bigint, p_kind text,
  p_bearer_client text, p_bearer_key_id text, p_bearer_key_alg text, p_bearer_row text,
  OUT used bigint, OUT day_used bigint, OUT outcome text, OUT seconds bigint[], OUT counts bigint[],
  OUT replayed_kind text
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  IF p_bearer_client IS NOT NULL
    AND dci_bearer_row(p_bearer_client, p_bearer_key_id, p_bearer_key_alg) IS DISTINCT FROM p_bearer_row THEN
    outcome := 'stale';
    RETURN;
  END IF;
  SELECT a.used, a.day_used, a.outcome, a.seconds, a.counts, a.replayed_kind
    INTO used, day_used, outcome, seconds, counts, replayed_kind
    FROM dci_admit(p_sender, p_now_s, p_window_start, p_today, p_minute, p_day, p_count, p_message_id,
      p_now_ms, p_replay_before, p_kind) a;
END
$$;
