/**
 * Storage: every store the services use, behind one interface with two backends — the embedded SQLite database
 * (the default) and PostgreSQL (DCI_DATABASE_URL, several instances on one database; src/db/pg/storage.ts). A
 * service reads and writes through `deps.storage.<store>`, never through SQL of its own, so no SQLite-only
 * behaviour reaches it. A store method that writes several rows is one transaction in either backend.
 * On PostgreSQL the server opens no SQLite file: `deps.db` is then absent, and what still reads it (the SQLite
 * busy timeout, its disk-full state) is SQLite's own.
 */
import type { Db } from "./sqlite.ts";
import { type AuditStore, sqliteAuditStore } from "../audit/store.ts";
import { type JobRunStore, sqliteJobRunStore } from "../jobs/job_runs.ts";
import { sqliteSubscriptionStore, type SubscriptionStore } from "../subscriptions/subscription_store.ts";
import { type RateLimitStore, sqliteRateLimitStore } from "../senders/limits_store.ts";
import { type ReplayGuard, sqliteReplayGuard } from "../auth/replay_store.ts";
import { type BearerStore, sqliteBearerStore } from "../auth/bearer_store.ts";
import { type AdminTokenStore, sqliteAdminTokenStore } from "../admin/token_store.ts";
import { type ConsoleSessionStore, sqliteSessionStore } from "../console/session_store.ts";
import { type LocationStore, sqliteLocationStore } from "../locations/location_store.ts";
import { type MetricsHistoryStore, sqliteHistoryStore } from "../obs/history_store.ts";
import { type ServerKeyStore, sqliteServerKeyStore } from "../keys/server_key_store.ts";
import { type SenderStore, sqliteSenderStore } from "../senders/sender_store.ts";
import { type SenderKeyStore, sqliteSenderKeyStore } from "../senders/key_store.ts";
import { type ClientStore, sqliteClientStore } from "../senders/client_store.ts";
import { sqliteTransactionStore, type TransactionStore } from "../transactions/txn_store.ts";
import { type BulkStore, sqliteBulkStore } from "../transactions/bulk_storage.ts";
import { type NotificationStore, sqliteNotificationStore } from "../subscriptions/notification_store.ts";
import { type LaneStore, sqliteLaneStore } from "../subscriptions/lane_store.ts";
import { type SpoolStore, sqliteSpoolStore } from "../transactions/spool_store.ts";
import { type FanOutStore, sqliteFanOutStore } from "../subscriptions/fanout_store.ts";
import { type RegistryLoadStore, sqliteLoadStore } from "../registry/load_store.ts";
import { type ImportJobStore, sqliteImportJobStore } from "../registry/imports/job_store.ts";
import { type ImportSpoolStore, sqliteImportSpoolStore } from "../registry/imports/spool_store.ts";
import { type RegistryStore, sqliteRegistryStore } from "../registry/registry_store.ts";
import { type SearchStore, sqliteSearchStore } from "../registry/search_store.ts";
import { type DueWorkStore, sqliteDueWorkStore } from "../jobs/due_store.ts";

/** Which backend a Storage is. */
export type StorageKind = "sqlite" | "postgres";

/** Every store, on one backend. */
export interface Storage {
  readonly kind: StorageKind;
  readonly audit: AuditStore;
  readonly subscriptions: SubscriptionStore;
  readonly notifications: NotificationStore;
  readonly lanes: LaneStore;
  readonly fanOut: FanOutStore;
  readonly jobRuns: JobRunStore;
  readonly limits: RateLimitStore;
  readonly replay: ReplayGuard;
  readonly bearer: BearerStore;
  readonly adminTokens: AdminTokenStore;
  readonly sessions: ConsoleSessionStore;
  readonly locations: LocationStore;
  readonly history: MetricsHistoryStore;
  readonly serverKeys: ServerKeyStore;
  readonly senders: SenderStore;
  readonly senderKeys: SenderKeyStore;
  readonly clients: ClientStore;
  readonly transactions: TransactionStore;
  readonly bulk: BulkStore;
  readonly spools: SpoolStore;
  readonly registryLoad: RegistryLoadStore;
  readonly importJobs: ImportJobStore;
  readonly importSpools: ImportSpoolStore;
  readonly registry: RegistryStore;
  readonly search: SearchStore;
  /** The one query for due work (transactions, notification lanes, events to fan out). */
  readonly dueWork: DueWorkStore;
  /** Closes what this Storage opened (the PostgreSQL pool; the SQLite handle belongs to Deps). */
  close(): Promise<void>;
  /** True once the database is closed (shutting down): background loops stop quietly instead of logging. */
  readonly closed: boolean;
  /** One trivial statement on the database (readiness): rejects when it cannot answer. */
  ping(): Promise<void>;
  /**
   * Runs `fn` while no other instance on this database runs a section of the same `name` (start-up work such as
   * seeding the demo data: instances started together take turns, and the later ones find it done). SQLite: one
   * server process per database file, so `fn` runs at once; PostgreSQL: a session advisory lock.
   */
  exclusive<T>(name: string, fn: () => Promise<T>): Promise<T>;
  /**
   * `exclusive` without waiting: runs `fn` unless another instance is in a section of `name` now (then answers
   * `{ ran: false }` at once). The lock is the instance's session, so an instance that dies mid-section frees it.
   */
  tryExclusive<T>(name: string, fn: () => Promise<T>): Promise<{ ran: true; value: T } | { ran: false }>;
}

/**
 * The stores on the embedded SQLite database `db`; files (bulk search and import spools) go under `dataDir`
 * (":memory:": temporary directories).
 */
export function sqliteStorage(db: Db, dataDir = ":memory:"): Storage {
  return {
    kind: "sqlite",
    audit: sqliteAuditStore(db),
    subscriptions: sqliteSubscriptionStore(db),
    notifications: sqliteNotificationStore(db),
    lanes: sqliteLaneStore(db),
    fanOut: sqliteFanOutStore(db),
    jobRuns: sqliteJobRunStore(db),
    limits: sqliteRateLimitStore(db),
    replay: sqliteReplayGuard(db),
    bearer: sqliteBearerStore(db),
    adminTokens: sqliteAdminTokenStore(db),
    sessions: sqliteSessionStore(db),
    locations: sqliteLocationStore(db),
    history: sqliteHistoryStore(db),
    serverKeys: sqliteServerKeyStore(db),
    senders: sqliteSenderStore(db),
    senderKeys: sqliteSenderKeyStore(db),
    clients: sqliteClientStore(db),
    transactions: sqliteTransactionStore(db),
    bulk: sqliteBulkStore(db),
    spools: sqliteSpoolStore(db, dataDir),
    registryLoad: sqliteLoadStore(db),
    importJobs: sqliteImportJobStore(db),
    importSpools: sqliteImportSpoolStore(db, dataDir),
    registry: sqliteRegistryStore(db),
    search: sqliteSearchStore(db),
    dueWork: sqliteDueWorkStore(db),
    close: () => Promise.resolve(),
    get closed() {
      return !db.isOpen;
    },
    ping: () => Promise.try(() => void db.prepare("SELECT 1").get()),
    exclusive: (_name, fn) => fn(),
    tryExclusive: async (_name, fn) => ({ ran: true, value: await fn() }),
  };
}
