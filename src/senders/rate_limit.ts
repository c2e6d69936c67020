/**
 * Rate limits in SQLite (consistent across isolates; the services reach them through the storage,
 * src/senders/limits_store.ts, whose PostgreSQL twin shares the read statements and the decisions exported here):
 * a true rolling minute in one-second buckets, and a per-UTC-day counter whose stale day reads as zero (a missed
 * midnight reset is caught up lazily). The same
 * buckets count token requests per client IP (scope 'token_ip'), failed ones per client id ('client_fail'), and
 * failed admin-token checks per client IP and in all ('admin_fail_ip', 'admin_fail_all': src/admin/login_limit.ts).
 */
import type { Db } from "../db/sqlite.ts";
import { groupCommit } from "../db/group_commit.ts";
import { stmt } from "../db/statements.ts";

/** A limit decision with what the RateLimit headers need. */
export interface RateDecision {
  allowed: boolean;
  /** Which limit refused (when not allowed). */
  exceeded?: "minute" | "day";
  remainingMinute: number;
  remainingDay?: number;
  /** Seconds until a request would be allowed again (when refused), or until the window frees a slot. */
  retryAfter: number;
  /** When refused: the epoch ms before which every request of this sender would be refused too (same limits). */
  retryAtMs?: number;
}

/** The rolling window, in seconds. */
export const WINDOW_S = 60;

/** The buckets of (scope, key) still in the window (second > ?), oldest first. Both backends. */
export const WINDOW_BUCKETS =
  `SELECT second, count FROM rate_buckets WHERE scope = ? AND key = ? AND second > ? ORDER BY second`;
/** Adds a count to the bucket of (scope, key, second). SQLite (PostgreSQL qualifies the column). */
const BUMP_BUCKET = `INSERT INTO rate_buckets (scope, key, second, count) VALUES (?, ?, ?, ?)
     ON CONFLICT (scope, key, second) DO UPDATE SET count = count + excluded.count`;
/** Deletes the bucket of (scope, key, second) once back at zero. Both backends. */
export const DELETE_EMPTY_BUCKET =
  "DELETE FROM rate_buckets WHERE scope = ? AND key = ? AND second = ? AND count <= 0";
/** Deletes buckets that left the window. Both backends. */
export const PURGE_BUCKETS = "DELETE FROM rate_buckets WHERE second <= ?";
/** Deletes day counters of earlier days. Both backends. */
export const RESET_DAYS = "DELETE FROM rate_days WHERE day < ?";

/** The UTC day of an epoch-ms instant, `YYYY-MM-DD`. */
export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

function minuteUsage(
  db: Db,
  scope: string,
  key: string,
  nowS: number,
): { used: number; oldest: number | null } {
  const row = stmt(
    db,
    `SELECT COALESCE(SUM(count), 0) AS used, MIN(second) AS oldest FROM rate_buckets
     WHERE scope = ? AND key = ? AND second > ?`,
  ).get(scope, key, nowS - WINDOW_S) as { used: number; oldest: number | null };
  return row;
}

function bump(db: Db, scope: string, key: string, nowS: number, count = 1): void {
  stmt(db, BUMP_BUCKET).run(scope, key, nowS, count);
}

/** Seconds until the oldest request in the window leaves it. */
function untilFree(db: Db, scope: string, key: string, nowS: number, limit: number): number {
  const rows = stmt(db, WINDOW_BUCKETS).all(scope, key, nowS - WINDOW_S) as Array<
    { second: number; count: number }
  >;
  return untilFreeOf(rows, nowS, limit);
}

/** Seconds until enough of `rows` (the window's buckets, oldest first) leave the window to drop below `limit`. */
export function untilFreeOf(
  rows: ReadonlyArray<{ second: number; count: number }>,
  nowS: number,
  limit: number,
): number {
  // Walk buckets oldest first until enough requests leave the window to drop below the limit.
  let used = rows.reduce((a, r) => a + r.count, 0);
  for (const r of rows) {
    used -= r.count;
    if (used < limit) return Math.max(1, r.second + WINDOW_S - nowS);
  }
  return 1;
}

/** One request to count against its sender's limits. */
export interface SenderRequest {
  senderId: string;
  limits: { minute: number; day: number };
  /**
   * Runs inside the write transaction once the limits allow the request (the replay guard's insert); if it
   * throws, the request is refused with that error and not counted, or, when the throw left no transaction
   * open (SQLite rolled it back), the whole batch fails with it.
   */
  admitted?: () => void;
}

/** The outcome of one request of a batch: a limit decision, or the error `admitted` threw. */
export type SenderOutcome = { decision: RateDecision } | { error: unknown };

/** A sender's minute usage (`used`) and today's count (`day_used`, null for none today). Both backends. */
export const SENDER_USAGE =
  `SELECT (SELECT COALESCE(SUM(count), 0) FROM rate_buckets WHERE scope = 'sender' AND key = ? AND second > ?)
           AS used, (SELECT count FROM rate_days WHERE sender_id = ? AND day = ?) AS day_used`;
/** Adds a count to a sender's day counter, restarting it on a new day. SQLite (PostgreSQL qualifies the columns). */
const BUMP_DAY = `INSERT INTO rate_days (sender_id, day, count) VALUES (?, ?, ?)
       ON CONFLICT (sender_id) DO UPDATE SET
         count = CASE WHEN day = excluded.day THEN count + excluded.count ELSE excluded.count END,
         day = excluded.day`;

/**
 * The decision on one more request of a sender that has `used` requests in the rolling minute and `dayUsed`
 * today. A minute refusal says `retryAfter: 1`: the caller works out the real wait from the window's buckets.
 */
export function senderDecision(
  used: number,
  dayUsed: number,
  limits: { minute: number; day: number },
  nowMs: number,
): RateDecision {
  // The day first: when both are full, the wait is the day's (the minute's would only bring another refusal).
  if (dayUsed >= limits.day) {
    const midnight = Date.parse(`${utcDay(nowMs)}T00:00:00Z`) + 86_400_000;
    return {
      allowed: false,
      exceeded: "day",
      remainingMinute: Math.max(0, limits.minute - used),
      remainingDay: 0,
      retryAfter: Math.max(1, Math.ceil((midnight - nowMs) / 1000)),
      retryAtMs: midnight,
    };
  }
  if (used >= limits.minute) {
    return {
      allowed: false,
      exceeded: "minute",
      remainingMinute: 0,
      remainingDay: limits.day - dayUsed,
      retryAfter: 1,
    };
  }
  return {
    allowed: true,
    remainingMinute: limits.minute - used - 1,
    remainingDay: limits.day - dayUsed - 1,
    retryAfter: 0,
  };
}

/**
 * Counts a batch of requests against their senders' minute and day limits, in order, exactly as if they had
 * come one after another at `nowMs`; refused requests are not counted. Runs inside the caller's write
 * transaction. One read of each sender's usage and one write of each sender's counters, whatever the size.
 */
export function countSenderRequests(db: Db, requests: SenderRequest[], nowMs: number): SenderOutcome[] {
  const nowS = Math.floor(nowMs / 1000);
  const today = utcDay(nowMs);
  const usage = new Map<string, { used: number; dayUsed: number; added: number }>();
  const refusedMinute: Array<{ index: number; senderId: string; limit: number }> = [];
  const outcomes = requests.map((r, index): SenderOutcome => {
    let u = usage.get(r.senderId);
    if (!u) {
      // Minute usage and today's count in one step (a stale day reads as zero).
      const row = stmt(db, SENDER_USAGE).get(r.senderId, nowS - WINDOW_S, r.senderId, today) as {
        used: number;
        day_used: number | null;
      };
      usage.set(r.senderId, u = { used: Number(row.used), dayUsed: Number(row.day_used ?? 0), added: 0 });
    }
    const decision = senderDecision(u.used, u.dayUsed, r.limits, nowMs);
    if (!decision.allowed) {
      if (decision.exceeded === "minute") {
        refusedMinute.push({ index, senderId: r.senderId, limit: r.limits.minute });
      }
      return { decision };
    }
    try {
      r.admitted?.();
    } catch (error) {
      // A failure SQLite answered by rolling back the whole transaction (disk full, an I/O error) fails the
      // batch: the requests after it would otherwise write outside any transaction, each committing alone.
      if (!db.isTransaction) throw error;
      return { error };
    }
    u.used++;
    u.dayUsed++;
    u.added++;
    return { decision };
  });
  for (const [senderId, u] of usage) {
    if (u.added === 0) continue;
    bump(db, "sender", senderId, nowS, u.added);
    stmt(db, BUMP_DAY).run(senderId, today, u.added);
  }
  for (const { index, senderId, limit } of refusedMinute) {
    const decision = (outcomes[index] as { decision: RateDecision }).decision;
    decision.retryAfter = untilFree(db, "sender", senderId, nowS, limit);
    // The usage only falls as buckets leave the window: none leaves before this second starts.
    decision.retryAtMs = (nowS + decision.retryAfter) * 1000;
  }
  return outcomes;
}

/**
 * Counts one token request of a client IP against a per-minute limit, in the request path's group commit (so a
 * write lock held elsewhere makes it wait without blocking the isolate, then fail with "database is locked").
 */
export function takeIpRequest(db: Db, ip: string, limit: number, nowMs: number): Promise<RateDecision> {
  const nowS = Math.floor(nowMs / 1000);
  return groupCommit(db, (): RateDecision => {
    const { used } = minuteUsage(db, "token_ip", ip, nowS);
    if (used >= limit) {
      return {
        allowed: false,
        exceeded: "minute",
        remainingMinute: 0,
        retryAfter: untilFree(db, "token_ip", ip, nowS, limit),
      };
    }
    bump(db, "token_ip", ip, nowS);
    return { allowed: true, remainingMinute: limit - used - 1, retryAfter: 0 };
  });
}

/**
 * Whether a client id is locked after failed token requests: `limit` failures within the rolling minute
 * (counted in SQLite, so every isolate and a restarted server see them) lock it until enough of them age out,
 * at most a minute after the last counted one. Locked requests are refused without hashing and not counted.
 */
export function clientLockout(
  db: Db,
  clientId: string,
  limit: number,
  nowMs: number,
): { locked: boolean; failures: number; retryAfter: number } {
  const nowS = Math.floor(nowMs / 1000);
  const { used } = minuteUsage(db, "client_fail", clientId, nowS);
  if (used < limit) return { locked: false, failures: used, retryAfter: 0 };
  return { locked: true, failures: used, retryAfter: untilFree(db, "client_fail", clientId, nowS, limit) };
}

/** Counts one failed token request (wrong secret) against a client id's lockout. */
export function recordClientFailure(db: Db, clientId: string, nowMs: number): void {
  bump(db, "client_fail", clientId, Math.floor(nowMs / 1000));
}

/** One rolling-minute limit a slot is taken in: `limit` per minute under (scope, key). */
export interface SlotLimit {
  scope: string;
  key: string;
  limit: number;
}

/**
 * Takes one slot in each of `limits` at once (all or none) in the request path's group commit: refused when
 * any is full, with the wait of the fullest. Taken before the work it guards, so concurrent requests cannot
 * all pass an empty count; the slot stays used unless `releaseSlots` gives it back.
 */
export function takeSlots(
  db: Db,
  limits: readonly SlotLimit[],
  nowMs: number,
  options: { waitMs?: number } = {},
): Promise<{ allowed: true; second: number } | { allowed: false; retryAfter: number; full: SlotLimit }> {
  const nowS = Math.floor(nowMs / 1000);
  return groupCommit(db, () => {
    const refused = fullSlots(db, limits, nowS);
    if (refused) return refused;
    for (const l of limits) bump(db, l.scope, l.key, nowS);
    return { allowed: true as const, second: nowS };
  }, options);
}

/** The refusal `takeSlots` would answer at second `nowS` (the fullest of `limits`), or undefined: a read. */
export function fullSlots(
  db: Db,
  limits: readonly SlotLimit[],
  nowS: number,
): { allowed: false; retryAfter: number; full: SlotLimit } | undefined {
  let refused: { allowed: false; retryAfter: number; full: SlotLimit } | undefined;
  for (const l of limits) {
    if (minuteUsage(db, l.scope, l.key, nowS).used < l.limit) continue;
    const retryAfter = untilFree(db, l.scope, l.key, nowS, l.limit);
    if (!refused || retryAfter > refused.retryAfter) refused = { allowed: false, retryAfter, full: l };
  }
  return refused;
}

/**
 * Gives back the slots `takeSlots` took at `second` (the work they guarded turned out not to count); a bucket
 * back at zero is deleted, so work that never counts leaves no row behind.
 */
export function releaseSlots(db: Db, limits: readonly SlotLimit[], second: number): Promise<void> {
  return groupCommit(db, () => {
    for (const l of limits) {
      bump(db, l.scope, l.key, second, -1);
      stmt(db, DELETE_EMPTY_BUCKET).run(l.scope, l.key, second);
    }
  });
}

/** Deletes minute buckets that left the window (run on a schedule). */
export function purgeRateBuckets(db: Db, nowMs: number): number {
  return Number(stmt(db, PURGE_BUCKETS).run(Math.floor(nowMs / 1000) - WINDOW_S).changes);
}

/** The midnight reset: day counters of earlier days are dropped (reads already treat them as zero). */
export function resetDayCounters(db: Db, nowMs: number): number {
  return Number(stmt(db, RESET_DAYS).run(utcDay(nowMs)).changes);
}

/**
 * The `RateLimit` and `RateLimit-Policy` headers (draft-ietf-httpapi-ratelimit-headers) for a decision: `RateLimit`
 * names the window with the lower remaining count (the day's, near the end of a day's quota).
 */
export function rateLimitHeaders(
  d: RateDecision,
  limits: { minute: number; day?: number },
  nowMs: number,
): Record<string, string> {
  const policy = [`"minute";q=${limits.minute};w=60`];
  if (limits.day !== undefined) policy.push(`"day";q=${limits.day};w=86400`);
  const dayReset = Math.ceil((Date.parse(`${utcDay(nowMs)}T00:00:00Z`) + 86_400_000 - nowMs) / 1000);
  // The window with the lower remaining count (the draft's rule for a policy of several windows).
  const remainingMinute = Math.max(0, d.remainingMinute);
  const current = d.remainingDay !== undefined && limits.day !== undefined &&
      (d.exceeded === "day" || (d.allowed && d.remainingDay <= remainingMinute))
    ? `"day";r=${Math.max(0, d.remainingDay)};t=${dayReset}`
    : `"minute";r=${remainingMinute};t=${d.allowed ? 60 : d.retryAfter}`;
  const headers: Record<string, string> = { "RateLimit-Policy": policy.join(", "), "RateLimit": current };
  if (!d.allowed) headers["Retry-After"] = String(d.retryAfter);
  return headers;
}
