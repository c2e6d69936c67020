/** The OAuth2 clients in PostgreSQL: the statements of client_store.ts, numbered; listing in binary order. */
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, pgRun, pgText } from "../db/pg/query.ts";
import {
  CLIENT_SQL,
  type ClientAuthRow,
  type ClientRow,
  type ClientStore,
  insertValues,
  listValues,
} from "./client_store.ts";

/** The OAuth2 clients in the PostgreSQL database behind `pool`. */
export function pgClientStore(pool: PgPool): ClientStore {
  return {
    insert: async (c) => await pgRun(pool, pgText(CLIENT_SQL.insert), insertValues(c)) === 1,
    get: (id) => pgOne<ClientRow>(pool, pgText(CLIENT_SQL.get), [id]),
    list: (senderId, page) => {
      const [a, b, created, id, limit] = listValues(senderId, page);
      return pgAll<ClientRow>(
        pool,
        `SELECT * FROM oauth_clients WHERE ($1::text IS NULL OR sender_id = $2)
          AND (created_at COLLATE "C", client_id COLLATE "C") > ($3, $4)
          ORDER BY created_at COLLATE "C", client_id COLLATE "C" ${Number(limit) >= 0 ? "LIMIT $5" : ""}`,
        Number(limit) >= 0 ? [a, b, created, id, limit] : [a, b, created, id],
      );
    },
    revoke: (id, now) => pgOne<ClientRow>(pool, `${pgText(CLIENT_SQL.revoke)} RETURNING *`, [now, id]),
    setSecret: async (id, hash, now) =>
      await pgRun(pool, pgText(CLIENT_SQL.setSecret), [hash, now, id]) === 1,
    forAuth: (id) => pgOne<ClientAuthRow>(pool, pgText(CLIENT_SQL.forAuth), [id]),
  };
}
