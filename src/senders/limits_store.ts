/**
 * Where rate limits are counted: the interface the services use, and its embedded SQLite implementation. The
 * counts are exact across isolates (and, on PostgreSQL, across instances): every decision and the count it adds
 * are one write.
 *
 * On SQLite, the requests admitted within one event-loop turn are counted together as one write of the turn's
 * group commit (src/db/group_commit.ts): one usage read and one counter write per sender, whatever the batch
 * size, and each request still gets its own decision, exactly as if they had come one after another.
 */
import type { Db } from "../db/sqlite.ts";
import { groupCommit } from "../db/group_commit.ts";
import {
  clientLockout,
  countSenderRequests,
  fullSlots,
  purgeRateBuckets,
  type RateDecision,
  recordClientFailure,
  releaseSlots,
  resetDayCounters,
  type SenderOutcome,
  type SenderRequest,
  type SlotLimit,
  takeIpRequest,
  takeSlots,
} from "./rate_limit.ts";
import { type ReplayKind, replayReady, type ReplayWrite, replayWrite, settleReplay } from "../auth/replay.ts";
import { StaleBearerRow } from "../auth/bearer_store.ts";

/** One signed request to admit: counted against its sender's limits, its message id recorded once. */
export interface AdmissionRequest {
  senderId: string;
  limits: { minute: number; day: number };
  /** header.message_id: recorded in the replay guard once the limits allow the request; a repeat is refused. */
  messageId?: string;
  /**
   * What the message id is recorded as admitted by (default "sync"): a replay answers the kind that recorded it, so
   * the caller can tell a copy of a sync request (always a duplicate) from one of an async request.
   */
  kind?: ReplayKind;
  /** The replay window: a message id recorded longer ago than this is accepted again. */
  replayWindowMs: number;
  /**
   * When the message id's record counts from, if later than the admission (it is kept a window after it): the
   * message_ts of a sender whose clock is ahead, so the record outlives the time that message_ts is accepted.
   */
  seenAtMs?: number;
  /** Runs once the limits allow the request, before the replay guard; if it throws, that is the outcome. */
  check?: () => void;
  /** Called once per write with how many requests it admitted together (1 where nothing is batched). */
  onWrite?: (size: number) => void;
  /**
   * Runs first in the write (SQLite: BearerAuth.confirm, the cached client row still current; `memo` is shared by
   * the write's requests): when false the request is neither counted nor recorded and its outcome is the error
   * StaleBearerRow.
   */
  confirm?: (memo: Map<string, string>) => boolean;
}

/**
 * What became of a request: a limit decision (allowed or not), a replay (its message id was seen within the
 * window, recorded by a request of kind `replayed`), or the error its `check` threw. Only an allowed decision is
 * counted and its message id recorded.
 */
export type AdmissionOutcome = { decision: RateDecision } | { replayed: ReplayKind } | { error: unknown };

/** The outcome of `takeSlots`. */
export type SlotsTaken = { allowed: true; second: number } | {
  allowed: false;
  retryAfter: number;
  full: SlotLimit;
};

/** Rate limits: per-sender minute and day counts, token-endpoint and admin-login limits, client lockout. */
export interface RateLimitStore {
  /**
   * Decides on one signed request against its sender's limits and, when allowed, records its message id (the
   * replay guard) and counts it, in one write. Rejects only when the write itself fails (nothing counted).
   */
  admit(request: AdmissionRequest, nowMs: number): Promise<AdmissionOutcome>;
  /**
   * Records the answered "write" request (ReplayKind) with this message id as answered: a copy of it is a
   * duplicate from now on. Rejects when the write fails (the copy is then admitted again, and its writes repeated).
   */
  settle(senderId: string, messageId: string): Promise<void>;
  /**
   * Readies the admission ahead of the first request (SQLite: loads this connection's replay guard index, which
   * the first `admit` does otherwise; PostgreSQL: nothing).
   */
  warm(nowMs: number, replayWindowMs: number): Promise<void>;
  /** Counts one token request of a client IP against a per-minute limit; a refused one is not counted. */
  takeIpRequest(ip: string, limit: number, nowMs: number): Promise<RateDecision>;
  /** Whether a client id is locked: `limit` failed token requests within the rolling minute. */
  clientLockout(
    clientId: string,
    limit: number,
    nowMs: number,
  ): Promise<{ locked: boolean; failures: number; retryAfter: number }>;
  /** Counts one failed token request against a client id's lockout. */
  recordClientFailure(clientId: string, nowMs: number): Promise<void>;
  /**
   * Takes one slot in each of `limits` at once (all or none); refused when any is full, with the longest wait.
   * `waitMs` bounds a wait for another process's write lock (SQLite; the group commit's 5 s by default).
   */
  takeSlots(limits: readonly SlotLimit[], nowMs: number, options?: { waitMs?: number }): Promise<SlotsTaken>;
  /** The refusal `takeSlots` would answer now, or undefined when every one of `limits` has room; writes nothing. */
  fullSlots(
    limits: readonly SlotLimit[],
    nowMs: number,
  ): Promise<(SlotsTaken & { allowed: false }) | undefined>;
  /** Gives back the slots `takeSlots` took at `second`; a bucket back at zero is deleted. */
  releaseSlots(limits: readonly SlotLimit[], second: number): Promise<void>;
  /** Deletes minute buckets that left the window; returns how many. */
  purgeBuckets(nowMs: number): Promise<number>;
  /** The midnight reset: deletes day counters of earlier days; returns how many. */
  resetDay(nowMs: number): Promise<number>;
}

/** Raised inside the batch's write when a message id is a replay, with the kind that recorded it (`replayed`). */
class Replayed {
  constructor(readonly kind: ReplayKind) {}
}

interface Batch {
  requests: SenderRequest[];
  /** Each request's `confirm`, by index. */
  confirms: Array<((memo: Map<string, string>) => boolean) | undefined>;
  onWrite?: (size: number) => void;
  nowMs: number;
  outcomes: Promise<SenderOutcome[]>;
  /** The replay guard's part of the write, made when it runs. */
  replay?: ReplayWrite;
}

/** Rate limits in the embedded SQLite database. */
export function sqliteRateLimitStore(db: Db): RateLimitStore {
  /** The open batch: the one requests of this turn join until its write runs. */
  let open: Batch | undefined;
  const close = (batch: Batch) => {
    if (open === batch) open = undefined;
  };
  const start = (): Batch => {
    const batch = { requests: [] as SenderRequest[], confirms: [] as Batch["confirms"], nowMs: 0 } as Batch;
    batch.outcomes = groupCommit(db, () => {
      close(batch);
      batch.replay = replayWrite(db);
      batch.onWrite?.(batch.requests.length);
      const memo = new Map<string, string>();
      const stale = batch.confirms.map((confirm) => confirm !== undefined && !confirm(memo));
      if (!stale.includes(true)) return countSenderRequests(db, batch.requests, batch.nowMs);
      const counted = countSenderRequests(db, batch.requests.filter((_, i) => !stale[i]), batch.nowMs);
      return stale.map((s) => s ? { error: new StaleBearerRow() } : counted.shift()!);
    });
    // Committed: the replay guard's rows of this write are seen (before any request of the batch resumes). A
    // group commit that failed before running the count (the write lock held elsewhere past the wait, a failed
    // BEGIN) fails only the requests in this batch: the next request opens a fresh one.
    batch.outcomes.then(() => batch.replay?.committed(), () => close(batch));
    return open = batch;
  };
  return {
    async admit(r, nowMs) {
      // Until this connection's replay index is loaded (src/auth/replay.ts), an admission waits for it.
      const loading = r.messageId === undefined ? undefined : replayReady(db, nowMs, r.replayWindowMs);
      if (loading) await loading;
      const batch = open ?? start();
      batch.onWrite ??= r.onWrite;
      // The batch is counted as of its latest request (the clock only moves forward).
      batch.nowMs = Math.max(batch.nowMs, nowMs);
      const { messageId } = r;
      batch.confirms.push(r.confirm);
      const index = batch.requests.push({
        senderId: r.senderId,
        limits: r.limits,
        admitted: () => {
          r.check?.();
          if (messageId === undefined) return;
          const at = { nowMs: batch.nowMs, windowMs: r.replayWindowMs, seenAtMs: r.seenAtMs, kind: r.kind };
          const replayed = batch.replay!.record(r.senderId, messageId, at);
          if (replayed) throw new Replayed(replayed);
        },
      }) - 1;
      const outcome = (await batch.outcomes)[index];
      if ("error" in outcome && outcome.error instanceof Replayed) return { replayed: outcome.error.kind };
      return outcome;
    },
    settle: (senderId, messageId) => groupCommit(db, () => settleReplay(db, senderId, messageId)),
    warm: async (nowMs, replayWindowMs) => await replayReady(db, nowMs, replayWindowMs),
    takeIpRequest: (ip, limit, nowMs) => takeIpRequest(db, ip, limit, nowMs),
    clientLockout: (clientId, limit, nowMs) => Promise.try(() => clientLockout(db, clientId, limit, nowMs)),
    recordClientFailure: (clientId, nowMs) => Promise.try(() => recordClientFailure(db, clientId, nowMs)),
    takeSlots: (limits, nowMs, options) => takeSlots(db, limits, nowMs, options),
    fullSlots: (limits, nowMs) => Promise.try(() => fullSlots(db, limits, Math.floor(nowMs / 1000))),
    releaseSlots: (limits, second) => releaseSlots(db, limits, second),
    purgeBuckets: (nowMs) => Promise.try(() => purgeRateBuckets(db, nowMs)),
    resetDay: (nowMs) => Promise.try(() => resetDayCounters(db, nowMs)),
  };
}
