/**
 * Storage: every store the services use, behind one interface with two backends — the embedded SQLite database
 * (the default) and PostgreSQL (DCI_DATABASE_URL, several instances on one database; src/db/pg/storage.ts). A
 * service reads and writes through `deps.storage.<store>`, never through SQL of its own, so no SQLite-only
 * behaviour reaches it. A store method that writes several rows is one transaction in either backend.
 *
 * The port is under way (issue 17): the stores listed here are served by both backends; the rest are still read
 * through `deps.db` and the SQLite functions of their area, and the server refuses DCI_DATABASE_URL until none is
 * left.
 */
import type { Db } from "./sqlite.ts";
import { type AuditStore, sqliteAuditStore } from "../audit/store.ts";
import { type JobRunStore, sqliteJobRunStore } from "../jobs/job_runs.ts";
import { sqliteSubscriptionStore, type SubscriptionStore } from "../subscriptions/subscription_store.ts";
import { type NotificationStore, sqliteNotificationStore } from "../subscriptions/notification_store.ts";
import { type LaneStore, sqliteLaneStore } from "../subscriptions/lane_store.ts";

/** Which backend a Storage is. */
export type StorageKind = "sqlite" | "postgres";

/** Every store, on one backend. */
export interface Storage {
  readonly kind: StorageKind;
  readonly audit: AuditStore;
  readonly subscriptions: SubscriptionStore;
  readonly notifications: NotificationStore;
  readonly lanes: LaneStore;
  readonly jobRuns: JobRunStore;
  /** Closes what this Storage opened (the PostgreSQL pool; the SQLite handle belongs to Deps). */
  close(): Promise<void>;
}

/** The stores on the embedded SQLite database `db`. */
export function sqliteStorage(db: Db): Storage {
  return {
    kind: "sqlite",
    audit: sqliteAuditStore(db),
    subscriptions: sqliteSubscriptionStore(db),
    notifications: sqliteNotificationStore(db),
    lanes: sqliteLaneStore(db),
    jobRuns: sqliteJobRunStore(db),
    close: () => Promise.resolve(),
  };
}
