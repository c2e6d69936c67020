-- Twin of migrations/0030_pg_admission.sql: a signed request's admission (src/senders/pg_limits_store.ts) as one
-- function, so it is one round trip instead of five (BEGIN, the sender's lock, the read, the write, COMMIT).
-- Called as one statement in autocommit: the advisory lock of the sender is held until that statement's
-- transaction commits, and as a VOLATILE function each statement below reads a fresh snapshot, taken after the
-- lock, which sees the counts of every earlier holder (the reason the read and the write cannot be one plain
-- statement). Lock key: the class "dcir" and hashtext('sender:' || id), as the stores' other rate-limit locks.
--
-- It reads the sender's rolling-minute count (the buckets after p_window_start) and its count of p_today;
-- outcome 'refused' when either is at its limit (with the minute's buckets, oldest first, when the minute is),
-- else 'allowed' without writing when p_count is false (the request failed a check of its own), else records
-- p_message_id in the replay guard (a message id seen after p_replay_before is a replay: outcome 'replayed',
-- nothing counted) and counts the request in its second's bucket and its day: outcome 'counted'.
CREATE FUNCTION dci_admit(
  p_sender text, p_now_s bigint, p_window_start bigint, p_today text, p_minute bigint, p_day bigint,
  p_count boolean, p_message_id text, p_now_ms bigint, p_replay_before bigint,
  OUT used bigint, OUT day_used bigint, OUT outcome text, OUT seconds bigint[], OUT counts bigint[]
) LANGUAGE plpgsql VOLATILE AS $$
BEGIN
  PERFORM pg_advisory_xact_lock(1684236914, hashtext('sender:' || p_sender));
  SELECT COALESCE(SUM(b.count), 0) INTO used FROM rate_buckets b
    WHERE b.scope = 'sender' AND b.key = p_sender AND b.second > p_window_start;
  SELECT d.count INTO day_used FROM rate_days d WHERE d.sender_id = p_sender AND d.day = p_today;
  IF used >= p_minute THEN
    outcome := 'refused';
    SELECT array_agg(b.second ORDER BY b.second), array_agg(b.count ORDER BY b.second) INTO seconds, counts
      FROM rate_buckets b WHERE b.scope = 'sender' AND b.key = p_sender AND b.second > p_window_start;
    RETURN;
  END IF;
  IF COALESCE(day_used, 0) >= p_day THEN
    outcome := 'refused';
    RETURN;
  END IF;
  IF NOT p_count THEN
    outcome := 'allowed';
    RETURN;
  END IF;
  IF p_message_id IS NOT NULL THEN
    INSERT INTO replay_guard (sender_id, message_id, seen_at_ms) VALUES (p_sender, p_message_id, p_now_ms)
      ON CONFLICT (sender_id, message_id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms
      WHERE replay_guard.seen_at_ms < p_replay_before;
    IF NOT FOUND THEN
      outcome := 'replayed';
      RETURN;
    END IF;
  END IF;
  INSERT INTO rate_buckets (scope, key, second, count) VALUES ('sender', p_sender, p_now_s, 1)
    ON CONFLICT (scope, key, second) DO UPDATE SET count = rate_buckets.count + 1;
  INSERT INTO rate_days (sender_id, day, count) VALUES (p_sender, p_today, 1)
    ON CONFLICT (sender_id) DO UPDATE SET
      count = CASE WHEN rate_days.day = excluded.day THEN rate_days.count + 1 ELSE 1 END,
      day = excluded.day;
  outcome := 'counted';
END
$$;
