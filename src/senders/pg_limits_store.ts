/**
 * Rate limits in PostgreSQL, exact with several instances on one database. A rolling-minute count is the sum of
 * up to sixty one-second buckets, so no single upsert can both decide and count: the statement's snapshot predates
 * a concurrent commit. Each decision is therefore one short transaction that first takes a transaction-scoped
 * advisory lock on the (scope, key) it counts, then reads the window (a fresh snapshot that sees every earlier
 * holder's count) and writes. Locks of several keys are taken in one statement, in hash order, so two takers never
 * wait on each other in a cycle; two keys that share a hash only wait for each other, never count together.
 * A signed request's admission, the hot path, does the same in one round trip: the function dci_admit (migration
 * 0030; since 0035 it records the replay guard's kind too) takes the lock, reads and writes as one autocommit
 * statement. Reads that decide nothing (the client lockout) and single counts (a failure, a release) need no lock.
 */
import type { PgClient, PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, pgQuery, pgRun, pgText, pgTransaction } from "../db/pg/query.ts";
import {
  DELETE_EMPTY_BUCKET,
  PURGE_BUCKETS,
  type RateDecision,
  RESET_DAYS,
  senderDecision,
  type SlotLimit,
  untilFreeOf,
  utcDay,
  WINDOW_BUCKETS,
  WINDOW_S,
} from "./rate_limit.ts";
import { replayKind, SETTLE_MESSAGE_ID } from "../auth/replay.ts";
import type { AdmissionOutcome, AdmissionRequest, RateLimitStore, SlotsTaken } from "./limits_store.ts";

/** The first key of the two-key advisory locks on rate-limit counters ("dcir" in ASCII). */
export const RATE_LOCK_CLASS = 0x64636972;

const LOCK_KEYS = `SELECT pg_advisory_xact_lock($1, h)
  FROM (SELECT DISTINCT hashtext(k) AS h FROM unnest($2::text[]) AS k) AS keys ORDER BY h`;

const BUMP_BUCKET = `INSERT INTO rate_buckets (scope, key, second, count) VALUES ($1, $2, $3, $4)
  ON CONFLICT (scope, key, second) DO UPDATE SET count = rate_buckets.count + excluded.count`;

/** A signed request's admission in one round trip (src/db/pg/migrations/0035_replay_guard_kind.sql). */
const ADMIT = `SELECT used, day_used, outcome, seconds, counts, replayed_kind
  FROM dci_admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`;

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
    const refused = await fullest(c, limits, nowS);
    if (refused) return refused;
    for (const l of inRowOrder(limits)) await pgRun(c, BUMP_BUCKET, [l.scope, l.key, nowS, 1]);
    return { allowed: true, second: nowS };
  });
}

/** The refusal `take` would answer at second `nowS` (the fullest of `limits`), or undefined: reads only. */
async function fullest(
  db: PgPool | PgClient,
  limits: readonly SlotLimit[],
  nowS: number,
): Promise<(SlotsTaken & { allowed: false }) | undefined> {
  let refused: SlotsTaken & { allowed: false } | undefined;
  for (const l of limits) {
    const u = await usage(db, l.scope, l.key, nowS);
    if (u.used < l.limit) continue;
    const retryAfter = untilFreeOf(u.rows, nowS, l.limit);
    if (!refused || retryAfter > refused.retryAfter) refused = { allowed: false, retryAfter, full: l };
  }
  return refused;
}

/**
 * Decides on one signed request under its sender's lock and counts it (and records its message id) when allowed:
 * one statement, dci_admit. The request's own check (its message timestamp: no storage) runs first, and the
 * function writes nothing when it failed; its error is answered only when the limits allow the request, as on
 * SQLite (a request over its limit is answered 429 whatever its timestamp).
 */
async function admit(
  pool: PgPool,
  r: AdmissionRequest,
  nowMs: number,
): Promise<AdmissionOutcome> {
  const nowS = Math.floor(nowMs / 1000);
  let failed: { error: unknown } | undefined;
  try {
    r.check?.();
  } catch (error) {
    failed = { error };
  }
  // A function call always answers one row.
  const row = (await pgOne<AdmitRow>(pool, ADMIT, [
    r.senderId,
    nowS,
    nowS - WINDOW_S,
    utcDay(nowMs),
    r.limits.minute,
    r.limits.day,
    !failed,
    r.messageId ?? null,
    Math.max(nowMs, r.seenAtMs ?? 0),
    nowMs - r.replayWindowMs,
    r.kind ?? "sync",
  ]))!;
  r.onWrite?.(1);
  const decision: RateDecision = senderDecision(row.used, row.day_used ?? 0, r.limits, nowMs);
  if ((row.outcome === "refused") === decision.allowed) {
    throw new Error(
      `dci_admit answered ${row.outcome} where the limits ${decision.allowed ? "allow" : "refuse"}`,
    );
  }
  if (!decision.allowed) {
    if (decision.exceeded === "minute") {
      const buckets = (row.seconds ?? []).map((second, i) => ({
        second: Number(second),
        count: Number(row.counts![i]),
      }));
      decision.retryAfter = untilFreeOf(buckets, nowS, r.limits.minute);
      // The usage only falls as buckets leave the window: none leaves before this second starts.
      decision.retryAtMs = (nowS + decision.retryAfter) * 1000;
    }
    return { decision };
  }
  if (failed) return failed;
  return row.outcome === "replayed" ? { replayed: replayKind(row.replayed_kind) } : { decision };
}

/** dci_admit's answer (bigint arrays arrive as text). */
interface AdmitRow {
  used: number;
  day_used: number | null;
  outcome: "refused" | "allowed" | "replayed" | "counted";
  seconds: string[] | null;
  counts: string[] | null;
  /** With outcome "replayed": the kind of request that recorded the message id. */
  replayed_kind: string | null;
}

/** Rate limits in the PostgreSQL database behind `pool`. */
export function pgRateLimitStore(pool: PgPool): RateLimitStore {
  return {
    warm: () => Promise.resolve(),
    settle: async (senderId, messageId) =>
      void await pgRun(pool, pgText(SETTLE_MESSAGE_ID), [senderId, messageId]),
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
    fullSlots: (limits, nowMs) => fullest(pool, limits, Math.floor(nowMs / 1000)),
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
