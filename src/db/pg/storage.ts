/** The stores on PostgreSQL (see src/db/storage.ts). Imported only when a PostgreSQL database is configured. */
import type { Storage } from "../storage.ts";
import type { PgPool } from "./pool.ts";
import { pgAuditStore } from "../../audit/pg_store.ts";
import { pgSenderStore } from "../../senders/pg_sender_store.ts";
import { pgSenderKeyStore } from "../../senders/pg_key_store.ts";
import { pgClientStore } from "../../senders/pg_client_store.ts";

/** The stores on the PostgreSQL database behind `pool`; `close` ends the pool. */
export function pgStorage(pool: PgPool): Storage {
  return {
    kind: "postgres",
    audit: pgAuditStore(pool),
    senders: pgSenderStore(pool),
    senderKeys: pgSenderKeyStore(pool),
    clients: pgClientStore(pool),
    close: () => pool.end(),
  };
}
