-- Twin of migrations/0035_replay_guard_kind.sql: the replay guard records what admitted each message_id, 'sync'
-- or 'async' (src/auth/replay.ts, ReplayKind); rows recorded before it read as 'sync' (the stricter: see there).
ALTER TABLE replay_guard ADD COLUMN kind text NOT NULL DEFAULT 'sync';

-- dci_admit of migration 0030 with the kind: p_kind is recorded with p_message_id (and replaces the kind of a
-- record taken over past the window), and a replay answers the kind that recorded it in replayed_kind (null for
-- any other outcome). Everything else as 0030: the sender's advisory lock, then fresh reads of the minute and the
-- day, then the replay guard and the counts, one autocommit statement.
--
-- A new overload beside 0030's, which stays: instances of the previous version call it until they are replaced
-- (an upgrade starts one new instance, which migrates, then replaces the others). It is replaced below by a call
-- of this one with 'sync', so that their rows, new or taken over past the window, are marked 'sync' (a copy of
-- those is refused on every route). A later migration may drop it.
CREATE FUNCTION dci_admit(
  p_sender text, p_now_s bigint, p_window_start bigint, p_today text, p_minute bigint, p_day bigint,
  p_count boolean, p_message_id text, p_now_ms bigint, p_replay_before bigint, p_kind text,
  OUT used bigint, OUT day_used bigint, OUT outcome text, OUT seconds bigint[], OUT counts bigint[],
  OUT replayed_kind text
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
    INSERT INTO replay_guard (sender_id, message_id, seen_at_ms, kind)
      VALUES (p_sender, p_message_id, p_now_ms, p_kind)
      ON CONFLICT (sender_id, message_id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms, kind = excluded.kind
      WHERE replay_guard.seen_at_ms < p_replay_before;
    IF NOT FOUND THEN
      -- The conflicting row is locked by the INSERT above until this statement commits: it is still there.
      SELECT g.kind INTO replayed_kind FROM replay_guard g
        WHERE g.sender_id = p_sender AND g.message_id = p_message_id;
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

-- 0030's signature, for instances of the previous version during an upgrade: the admission above, as 'sync'.
CREATE OR REPLACE FUNCTION dci_admit(
  p_sender text, p_now_s bigint, p_window_start bigint, p_today text, p_minute bigint, p_day bigint,
  p_count boolean, p_message_id text, p_now_ms bigint, p_replay_before bigint,
  OUT used bigint, OUT day_used bigint, OUT outcome text, OUT seconds bigint[], OUT counts bigint[]
) LANGUAGE sql VOLATILE AS $$
  SELECT a.used, a.day_used, a.outcome, a.seconds, a.counts FROM dci_admit(p_sender, p_now_s, p_window_start,
    p_today, p_minute, p_day, p_count, p_message_id, p_now_ms, p_replay_before, 'sync') a
$$;
