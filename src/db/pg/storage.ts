/** The stores on PostgreSQL (see src/db/storage.ts). Imported only when a PostgreSQL database is configured. */
import type { Storage } from "../storage.ts";
import type { PgPool } from "./pool.ts";
import { pgSessionLock, pgTakeTurns } from "./query.ts";
import { pgAuditStore } from "../../audit/pg_store.ts";
import { pgSubscriptionStore } from "../../subscriptions/pg_store.ts";
import { pgJobRunStore } from "../../jobs/pg_job_runs.ts";
import { pgRateLimitStore } from "../../senders/pg_limits_store.ts";
import { pgReplayGuard } from "../../auth/pg_replay_store.ts";
import { pgBearerStore } from "../../auth/pg_bearer_store.ts";
import { pgAdminTokenStore } from "../../admin/pg_token_store.ts";
import { pgSessionStore } from "../../console/pg_session_store.ts";
import { pgLocationStore } from "../../locations/pg_location_store.ts";
import { pgHistoryStore } from "../../obs/pg_history_store.ts";
import { pgServerKeyStore } from "../../keys/pg_server_key_store.ts";
import { pgSenderStore } from "../../senders/pg_sender_store.ts";
import { pgSenderKeyStore } from "../../senders/pg_key_store.ts";
import { pgClientStore } from "../../senders/pg_client_store.ts";
import { pgTransactionStore } from "../../transactions/pg_store.ts";
import { pgBulkStore } from "../../transactions/pg_bulk_store.ts";
import { pgSpoolStore } from "../../transactions/pg_spool_store.ts";
import { pgNotificationStore } from "../../subscriptions/pg_notifications.ts";
import { pgLaneStore } from "../../subscriptions/pg_lanes.ts";
import { pgFanOutStore } from "../../subscriptions/pg_fanout_store.ts";
import { pgLoadStore } from "../../registry/pg_load_store.ts";
import { pgImportJobStore } from "../../registry/imports/pg_job_store.ts";
import { pgImportSpoolStore } from "../../registry/imports/pg_spool_store.ts";
import { pgRegistryStore } from "../../registry/pg_registry_store.ts";
import { pgSearchStore } from "../../registry/pg_search_store.ts";
import { pgDueWorkStore } from "../../jobs/due_store.ts";

/** The stores on the PostgreSQL database behind `pool`; `close` ends the pool. */
export function pgStorage(pool: PgPool): Storage {
  return {
    kind: "postgres",
    audit: pgAuditStore(pool),
    subscriptions: pgSubscriptionStore(pool),
    notifications: pgNotificationStore(pool),
    lanes: pgLaneStore(pool),
    fanOut: pgFanOutStore(pool),
    jobRuns: pgJobRunStore(pool),
    limits: pgRateLimitStore(pool),
    replay: pgReplayGuard(pool),
    bearer: pgBearerStore(pool),
    adminTokens: pgAdminTokenStore(pool),
    sessions: pgSessionStore(pool),
    locations: pgLocationStore(pool),
    history: pgHistoryStore(pool),
    serverKeys: pgServerKeyStore(pool),
    senders: pgSenderStore(pool),
    senderKeys: pgSenderKeyStore(pool),
    clients: pgClientStore(pool),
    transactions: pgTransactionStore(pool),
    bulk: pgBulkStore(pool),
    spools: pgSpoolStore(pool),
    registryLoad: pgLoadStore(pool),
    importJobs: pgImportJobStore(pool),
    importSpools: pgImportSpoolStore(pool),
    registry: pgRegistryStore(pool),
    search: pgSearchStore(pool),
    dueWork: pgDueWorkStore(pool),
    close: () => pool.end(),
    get closed() {
      return pool.ended;
    },
    ping: async () => void await pool.query("SELECT 1"),
    // Session advisory locks on the section's name, each on a connection of its own (src/db/pg/query.ts), waited
    // for by trying again: the start-up's section builds indexes concurrently (pgTakeTurns).
    exclusive: (name, fn) => pgTakeTurns(pool, `dci-server:${name}`, fn),
    tryExclusive: (name, fn) => pgSessionLock(pool, `dci-server:${name}`, fn, { wait: false }),
  };
}
