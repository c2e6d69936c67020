/** The claims of scheduled runs in PostgreSQL (src/jobs/job_runs.ts): the same statements, numbered. */
import type { PgPool } from "../db/pg/pool.ts";
import { pgOne, pgRun, pgText } from "../db/pg/query.ts";
import { JOB_RUN_SQL, type JobRunStore } from "./job_runs.ts";

/** The claims in the PostgreSQL database behind `pool`. */
export function pgJobRunStore(pool: PgPool): JobRunStore {
  return {
    async claim(name, slot, nowIso, keepAfter) {
      const won = await pgRun(pool, pgText(JOB_RUN_SQL.claim), [name, slot, nowIso]) === 1;
      // Housekeeping, not the claim (as on SQLite): a failed prune is done by a later claim.
      if (won) await pgRun(pool, pgText(JOB_RUN_SQL.prune), [name, keepAfter]).catch(() => {});
      return won;
    },
    async lastRun(name) {
      return (await pgOne<{ slot: string | null }>(pool, pgText(JOB_RUN_SQL.last), [name]))?.slot ??
        undefined;
    },
    async release(name, slot) {
      await pgRun(pool, pgText(JOB_RUN_SQL.release), [name, slot]);
    },
  };
}
