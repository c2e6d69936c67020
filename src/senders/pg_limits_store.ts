/**
 * Rate limits in PostgreSQL, exact with several instances on one database. A rolling-minute count is the sum of
 * up to sixty one-second buckets, so no single upsert can both decide and count: the statement's snapshot predates
 * a concurrent commit. Each decision is therefore one short transaction that first takes a transaction-scoped
 * advisory lock on the (scope, key) it counts, then reads the window (a fresh snapshot that sees every earlier
 * holder's count) and writes. Locks of several keys are taken in one statement, in hash order, so two takers never
 * wait on each other in a cycle; two keys that share a hash only wait for each other, never count together.
 * Reads that decide nothing (the client lockout) and single counts (a failure, a release) need no lock.
 */
import type { PgClient, PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, pgQuery, pgRun, pgText, pgTransaction } from "../db/pg/query.ts";
import {
  DELETE_EMPTY_BUCKET,
  PURGE_BUCKETS,
  type RateDecision,
  RESET_DAYS,
  SENDER_USAGE,
  senderDecision,
  type SlotLimit,
  untilFreeOf,
  utcDay,
  WINDOW_BUCKETS,
  WINDOW_S,
} from "./rate_limit.ts";
import type { AdmissionOutcome, AdmissionRequest, RateLimitStore, SlotsTaken } from "./limits_store.ts";

/** The first key of the two-key advisory locks on rate-limit counters ("dcir" in ASCII). */
export const RATE_LOCK_CLASS = 0x64636972;

const LOCK_KEYS = `SELECT pg_advisory_xact_lock($1, h)
  FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k) AS keys ORDER BY h`;

const BUMP_BUCKET = `INSERT INTO rate_buckets (scope, key, second, count) VALUES ($1, $2, $3, $4)
  ON CONFLICT (scope, key, second) DO UPDATE SET count = rate_buckets.count + excluded.count`;

/** Counts one request of a sender: its minute bucket and its day counter, in one statement. */
const COUNT_SENDER = `WITH bucket AS (
  INSERT INTO rate_buckets (scope, key, second, count) VALUES ('sender', $1, $2, 1)
  ON CONFLICT (scope, key, second) DO UPDATE SET count = rate_buckets.count + 1
) INSERT INTO rate_days (sender_id, day, count) VALUES ($1, $3, 1)
  ON CONFLICT (sender_id) DO UPDATE SET
    count = CASE WHEN rate_days.day = excluded.day THEN rate_days.count + 1 ELSE 1 END,
    day = excluded.day`;

/**
 * Records the message id (the replay guard, as src/auth/pg_replay_store.ts) and, only when it was not a replay,
 * counts the request, in one statement; returns one row when recorded, none for a replay.
 */
const RECORD_AND_COUNT_SENDER = `WITH recorded AS (
  INSERT INTO replay_guard (sender_id, message_id, seen_at_ms) VALUES ($1, $4, $5)
  ON CONFLICT (sender_id, message_id) DO UPDATE SET seen_at_ms = excluded.seen_at_ms
  WHERE replay_guard.seen_at_ms < $6
  RETURNING 1
), bucket AS (
  INSERT INTO rate_buckets (scope, key, second, count) SELECT 'sender', $1, $2::bigint, 1 FROM recorded
  ON CONFLICT (scope, key, second) DO UPDATE SET count = rate_buckets.count + 1
), day AS (
  INSERT INTO rate_days (sender_id, day, count) SELECT $1, $3::text, 1 FROM recorded
  ON CONFLICT (sender_id) DO UPDATE SET
    count = CASE WHEN rate_days.day = excluded.day THEN rate_days.count + 1 ELSE 1 END,
    day = excluded.day
) SELECT 1 AS recorded FROM recorded`;

const RELEASE_BUCKET =
  `UPDATE rate_buckets SET count = count - 1 WHERE scope = $1 AND key = $2 AND second = $3`;

type Bucket = { second: number; count: number };

/** Takes the advisory locks of `limits` (scope, key) on the transaction's client, in hash order. */
async function lock(c: PgClient, limits: ReadonlyArray<{ scope: string; key: string }>): Promise<void> {
  await pgQuery(c, LOCK_KEYS, [RATE_LOCK_CLASS, limits.map((l) => `${l.scope}:${l.key}`)]);
}

/** The buckets of (scope, key) in the window ending at `nowS`, oldest first, and their total. */
async function usage(
  c: PgClient | PgPool,
  scope: string,
  key: string,
  nowS: number,
): Promise<{ rows: Bucket[]; used: number }> {
  const rows = await pgAll<Bucket>(c, pgText(WINDOW_BUCKETS), [scope, key, nowS - WINDOW_S]);
  return { rows, used: rows.reduce((a, r) => a + r.count, 0) };
}

/**
 * `limits` in one fixed order: a release (which takes no advisory lock) and a take that update the same buckets
 * lock their rows in the same order, so they never deadlock.
 */
function inRowOrder(limits: readonly SlotLimit[]): SlotLimit[] {
  return [...limits].sort((x, y) =>
    x.scope < y.scope ? -1 : x.scope > y.scope ? 1 : x.key < y.key ? -1 : x.key > y.key ? 1 : 0
  );
}

/** Takes one slot in each of `limits` under their locks: all or none. */
function take(pool: PgPool, limits: readonly SlotLimit[], nowS: number): Promise<SlotsTaken> {
  return pgTransaction(pool, async (c) => {
    await lock(c, limits);
    let refused: SlotsTaken & { allowed: false } | undefined;
    for (const l of limits) {
      const u = await usage(c, l.scope, l.key, nowS);
      if (u.used < l.limit) continue;
      const retryAfter = untilFreeOf(u.rows, nowS, l.limit);
      if (!refused || retryAfter > refused.retryAfter) refused = { allowed: false, retryAfter, full: l };
    }
    if (refused) return refused;
    for (const l of inRowOrder(limits)) await pgRun(c, BUMP_BUCKET, [l.scope, l.key, nowS, 1]);
    return { allowed: true, second: nowS };
  });
}

/** Decides on one signed request under its sender's lock; counts it (and records its message id) when allowed. */
function admit(
  pool: PgPool,
  r: AdmissionRequest,
  nowMs: number,
): Promise<AdmissionOutcome> {
  const nowS = Math.floor(nowMs / 1000);
  const today = utcDay(nowMs);
  return pgTransaction(pool, async (c): Promise<AdmissionOutcome> => {
    await lock(c, [{ scope: "sender", key: r.senderId }]);
    const row = await pgOne<{ used: string | number; day_used: number | null }>(c, pgText(SENDER_USAGE), [
      r.senderId,
      nowS - WINDOW_S,
      r.senderId,
      today,
    ]);
    const decision: RateDecision = senderDecision(Number(row!.used), row!.day_used ?? 0, r.limits, nowMs);
    if (!decision.allowed) {
      if (decision.exceeded === "minute") {
        const u = await usage(c, "sender", r.senderId, nowS);
        decision.retryAfter = untilFreeOf(u.rows, nowS, r.limits.minute);
        // The usage only falls as buckets leave the window: none leaves before this second starts.
        decision.retryAtMs = (nowS + decision.retryAfter) * 1000;
      }
      return { decision };
    }
    try {
      r.check?.();
    } catch (error) {
      return { error };
    }
    if (r.messageId === undefined) {
      await pgRun(c, COUNT_SENDER, [r.senderId, nowS, today]);
      return { decision };
    }
    const recorded = await pgOne(c, RECORD_AND_COUNT_SENDER, [
      r.senderId,
      nowS,
      today,
      r.messageId,
      nowMs,
      nowMs - r.replayWindowMs,
    ]);
    return recorded ? { decision } : { replayed: true };
  }).then((outcome) => {
    r.onWrite?.(1);
    return outcome;
  });
}

/** Rate limits in the PostgreSQL database behind `pool`. */
export function pgRateLimitStore(pool: PgPool): RateLimitStore {
  return {
    admit: (r, nowMs) => admit(pool, r, nowMs),
    async takeIpRequest(ip, limit, nowMs) {
      const nowS = Math.floor(nowMs / 1000);
      return await pgTransaction(pool, async (c): Promise<RateDecision> => {
        await lock(c, [{ scope: "token_ip", key: ip }]);
        const u = await usage(c, "token_ip", ip, nowS);
        if (u.used >= limit) {
          return {
            allowed: false,
            exceeded: "minute",
            remainingMinute: 0,
            retryAfter: untilFreeOf(u.rows, nowS, limit),
          };
        }
        await pgRun(c, BUMP_BUCKET, ["token_ip", ip, nowS, 1]);
        return { allowed: true, remainingMinute: limit - u.used - 1, retryAfter: 0 };
      });
    },
    async clientLockout(clientId, limit, nowMs) {
      const nowS = Math.floor(nowMs / 1000);
      const u = await usage(pool, "client_fail", clientId, nowS);
      if (u.used < limit) return { locked: false, failures: u.used, retryAfter: 0 };
      return { locked: true, failures: u.used, retryAfter: untilFreeOf(u.rows, nowS, limit) };
    },
    async recordClientFailure(clientId, nowMs) {
      await pgRun(pool, BUMP_BUCKET, ["client_fail", clientId, Math.floor(nowMs / 1000), 1]);
    },
    takeSlots: (limits, nowMs) => take(pool, limits, Math.floor(nowMs / 1000)),
    releaseSlots: (limits, second) =>
      pgTransaction(pool, async (c) => {
        for (const l of inRowOrder(limits)) {
          await pgRun(c, RELEASE_BUCKET, [l.scope, l.key, second]);
          await pgRun(c, pgText(DELETE_EMPTY_BUCKET), [l.scope, l.key, second]);
        }
      }),
    purgeBuckets: (nowMs) => pgRun(pool, pgText(PURGE_BUCKETS), [Math.floor(nowMs / 1000) - WINDOW_S]),
    resetDay: (nowMs) => pgRun(pool, pgText(RESET_DAYS), [utcDay(nowMs)]),
  };
}
