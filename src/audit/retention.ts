/** Audit log retention: entries older than DCI_AUDIT_RETENTION_DAYS are deleted once a day (worker process). */
import type { Deps } from "../deps.ts";

const DAY_MS = 86_400_000;

/** Deletes audit entries past the retention period; returns how many. */
export async function purgeExpiredAudit(deps: Deps): Promise<number> {
  const n = await deps.storage.audit.purge(deps.clock.now() - deps.config.auditRetentionDays * DAY_MS);
  if (n > 0) deps.log.info("audit entries past retention deleted", { deleted: n });
  return n;
}

/** The cron entries of this area (SCHEDULES). */
export const AUDIT_SCHEDULES = [
  {
    name: "audit-retention",
    catchUp: true as const,
    schedule: "17 3 * * *",
    run: async (deps: Deps) => void await purgeExpiredAudit(deps),
  },
];
