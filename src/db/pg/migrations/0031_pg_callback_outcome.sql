-- Twin of migrations/0031_pg_callback_outcome.sql: a callback attempt's record and the state change it led to
-- (src/transactions/pg_store.ts) as one function, so they are one round trip instead of five or six (BEGIN, the
-- transaction row's lock, the attempt, the trim of old attempts, the change, COMMIT), still in one transaction.
-- Called as one statement in autocommit. The row lock comes first and, as a VOLATILE function, each statement
-- after it reads a fresh snapshot: two attempts recorded for one transaction at once never take one number.
--
-- The attempt is numbered after the transaction's last and its oldest beyond p_kept are dropped; then, by
-- p_kind, the change of src/transactions/txn_sql.ts (MARK_CALLBACK_SENT, SCHEDULE_RETRY, MARK_CALLBACK_FAILED:
-- the same columns and the same condition, the lease holder and a due callback), with p_at the completion
-- time (sent, failed) or the next attempt's (retry). changed: whether the transaction changed (false: the
-- lease was lost meanwhile; the attempt is recorded either way, as before).
CREATE FUNCTION dci_callback_outcome(
  p_id bigint, p_owner text, p_kind text, p_error text, p_receiver_code text, p_at text, p_now text,
  a_started_at text, a_duration_ms bigint, a_url text, a_outcome text, a_http_status bigint,
  a_receiver_code text, a_error text, p_kept bigint,
  OUT changed boolean
) LANGUAGE plpgsql VOLATILE AS $$
DECLARE
  n bigint;
BEGIN
  PERFORM 1 FROM transactions WHERE id = p_id FOR UPDATE;
  INSERT INTO callback_attempts (txn, attempt, started_at, duration_ms, url, outcome, http_status,
      receiver_code, error)
    SELECT p_id, COALESCE(MAX(attempt), 0) + 1, a_started_at, a_duration_ms, a_url, a_outcome, a_http_status,
      a_receiver_code, a_error
    FROM callback_attempts WHERE txn = p_id
    RETURNING attempt INTO n;
  IF n > p_kept THEN
    DELETE FROM callback_attempts WHERE txn = p_id AND attempt <= n - p_kept;
  END IF;
  IF p_kind = 'sent' THEN
    UPDATE transactions SET state = 'callback_sent', last_error = NULL, receiver_code = NULL,
        next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, completed_at = p_at, updated_at = p_now
      WHERE id = p_id AND lease_owner = p_owner AND state IN ('succeeded', 'rejected');
  ELSIF p_kind = 'retry' THEN
    UPDATE transactions SET last_error = p_error, receiver_code = p_receiver_code, next_attempt_at = p_at,
        lease_owner = NULL, lease_until = NULL, updated_at = p_now
      WHERE id = p_id AND lease_owner = p_owner AND state IN ('succeeded', 'rejected');
  ELSIF p_kind = 'failed' THEN
    UPDATE transactions SET state = 'callback_failed', last_error = p_error, receiver_code = p_receiver_code,
        next_attempt_at = NULL, lease_owner = NULL, lease_until = NULL, completed_at = p_at, updated_at = p_now
      WHERE id = p_id AND lease_owner = p_owner AND state IN ('succeeded', 'rejected');
  ELSE
    RAISE EXCEPTION 'dci_callback_outcome: unknown kind %', p_kind;
  END IF;
  changed := FOUND;
END
$$;
