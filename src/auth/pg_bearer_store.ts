/** The bearer lookup in PostgreSQL: the same statement as SQLite (src/auth/bearer_store.ts), numbered. */
import type { PgPool } from "../db/pg/pool.ts";
import { pgOne, pgText } from "../db/pg/query.ts";
import { BEARER_LOOKUP, type BearerClientRow, type BearerStore } from "./bearer_store.ts";

/** The bearer lookup in the PostgreSQL database behind `pool`. */
export function pgBearerStore(pool: PgPool): BearerStore {
  return {
    lookup: (clientId, keyId, keyAlg) =>
      pgOne<BearerClientRow>(pool, pgText(BEARER_LOOKUP), [keyId, keyAlg, clientId]),
  };
}
