/** The stores on PostgreSQL (see src/db/storage.ts). Imported only when a PostgreSQL database is configured. */
import type { Storage } from "../storage.ts";
import type { PgPool } from "./pool.ts";
import { pgAuditStore } from "../../audit/pg_store.ts";
import { pgSubscriptionStore } from "../../subscriptions/pg_store.ts";
import { pgJobRunStore } from "../../jobs/pg_job_runs.ts";
import { pgNotificationStore } from "../../subscriptions/pg_notifications.ts";
import { pgLaneStore } from "../../subscriptions/pg_lanes.ts";

/** The stores on the PostgreSQL database behind `pool`; `close` ends the pool. */
export function pgStorage(pool: PgPool): Storage {
  return {
    kind: "postgres",
    audit: pgAuditStore(pool),
    subscriptions: pgSubscriptionStore(pool),
    notifications: pgNotificationStore(pool),
    lanes: pgLaneStore(pool),
    jobRuns: pgJobRunStore(pool),
    close: () => pool.end(),
  };
}
