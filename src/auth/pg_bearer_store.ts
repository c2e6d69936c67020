/**
 * The bearer lookup in PostgreSQL: the function dci_bearer_row (src/db/pg/migrations/0037_pg_bearer_confirm.sql,
 * the statement of src/auth/bearer_store.ts) renders the row as JSON text, which a cached row's admission sends
 * back for dci_admit to compare with the row it reads.
 */
import type { PgPool } from "../db/pg/pool.ts";
import { pgOne } from "../db/pg/query.ts";
import type { BearerClientRow, BearerStore } from "./bearer_store.ts";

const LOOKUP = "SELECT dci_bearer_row($1, $2, $3) AS row";

/** The rows' JSON texts as read, for `confirm` (a row object is cached by the bearer check, its text here). */
const texts = new WeakMap<BearerClientRow, string>();

/** The bearer lookup in the PostgreSQL database behind `pool`. */
export function pgBearerStore(pool: PgPool): BearerStore {
  return {
    async lookup(clientId, keyId, keyAlg) {
      const text = (await pgOne<{ row: string | null }>(pool, LOOKUP, [clientId, keyId, keyAlg]))?.row;
      if (text == null) return undefined;
      const row = JSON.parse(text) as BearerClientRow;
      texts.set(row, text);
      return row;
    },
    confirm(clientId, keyId, keyAlg, row) {
      const text = texts.get(row);
      if (text === undefined) throw new Error("a bearer row to confirm that this store did not read");
      return { clientId, keyId, keyAlg, row: text };
    },
  };
}
