/** The stores on PostgreSQL (see src/db/storage.ts). Imported only when a PostgreSQL database is configured. */
import type { Storage } from "../storage.ts";
import type { PgPool } from "./pool.ts";
import { pgAuditStore } from "../../audit/pg_store.ts";
import { pgTransactionStore } from "../../transactions/pg_store.ts";
import { pgBulkStore } from "../../transactions/pg_bulk_store.ts";

/** The stores on the PostgreSQL database behind `pool`; `close` ends the pool. */
export function pgStorage(pool: PgPool): Storage {
  return {
    kind: "postgres",
    audit: pgAuditStore(pool),
    transactions: pgTransactionStore(pool),
    bulk: pgBulkStore(pool),
    close: () => pool.end(),
  };
}
