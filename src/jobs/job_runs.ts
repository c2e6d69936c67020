/**
 * Each scheduled job runs once per due time, however many instances fire for it: before running, an instance claims
 * (job name, due minute) with an insert that only one can make. With the embedded database one worker process runs
 * the schedules anyway (the claim then only stops a double fire); on PostgreSQL every instance's worker fires.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";

/** The claims of scheduled runs. */
export interface JobRunStore {
  /** Claims the run of `name` due at `slot`; true for the one caller that got it. Drops claims older than `keepAfter`. */
  claim(name: string, slot: string, nowIso: string, keepAfter: string): Promise<boolean>;
  /** The due time of the last claimed run of `name` (kept KEEP_MS), or undefined. */
  lastRun(name: string): Promise<string | undefined>;
  /** Gives back the claim of `name` at `slot` (its run failed: not a run that took place). */
  release(name: string, slot: string): Promise<void>;
}

/** Both backends' statements (`?` placeholders; numbered for PostgreSQL). */
export const JOB_RUN_SQL = {
  claim: "INSERT INTO job_runs (name, slot, claimed_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
  prune: "DELETE FROM job_runs WHERE name = ? AND slot < ?",
  last: "SELECT MAX(slot) AS slot FROM job_runs WHERE name = ?",
  release: "DELETE FROM job_runs WHERE name = ? AND slot = ?",
} as const;

const MINUTE_MS = 60_000;

/**
 * The due time a cron fire at `nowMs` stands for: the nearest whole minute (cron's resolution), so instances whose
 * clocks or timers differ by up to half a minute claim the same slot.
 */
export function slotOf(nowMs: number): string {
  return new Date(Math.round(nowMs / MINUTE_MS) * MINUTE_MS).toISOString();
}

/** How long claims are kept (far past any clock skew between instances). */
export const KEEP_MS = 7 * 86_400_000;

/** The claims in the embedded SQLite database. */
export function sqliteJobRunStore(db: Db): JobRunStore {
  return {
    claim: (name, slot, nowIso, keepAfter) =>
      Promise.try(() => {
        const won = Number(stmt(db, JOB_RUN_SQL.claim).run(name, slot, nowIso).changes) === 1;
        // Housekeeping, not the claim: a prune that fails (a write lock held past the busy timeout) is done by a
        // later claim, and must not fail this one, whose job would then not run but count as run.
        if (won) {
          try {
            stmt(db, JOB_RUN_SQL.prune).run(name, keepAfter);
          } catch { /* pruned by a later claim */ }
        }
        return won;
      }),
    lastRun: (name) =>
      Promise.try(() => (stmt(db, JOB_RUN_SQL.last).get(name)?.slot as string | null) ?? undefined),
    release: (name, slot) => Promise.try(() => void stmt(db, JOB_RUN_SQL.release).run(name, slot)),
  };
}
