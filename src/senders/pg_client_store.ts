/** The OAuth2 clients in PostgreSQL: the statements of client_store.ts, numbered; listing in binary order. */
import type { PgPool } from "../db/pg/pool.ts";
import { pgAll, pgOne, pgRun, pgText } from "../db/pg/query.ts";
import {
  CLIENT_SQL,
  type ClientAuthRow,
  type ClientRow,
  type ClientStore,
  insertValues,
} from "./client_store.ts";

/** The OAuth2 clients in the PostgreSQL database behind `pool`. */
export function pgClientStore(pool: PgPool): ClientStore {
  return {
    insert: async (c) => await pgRun(pool, pgText(CLIENT_SQL.insert), insertValues(c)) === 1,
    get: (id) => pgOne<ClientRow>(pool, pgText(CLIENT_SQL.get), [id]),
    list: (senderId) =>
      senderId
        ? pgAll<ClientRow>(
          pool,
          `SELECT * FROM oauth_clients WHERE sender_id = $1 ORDER BY created_at COLLATE "C", client_id COLLATE "C"`,
          [senderId],
        )
        : pgAll<ClientRow>(
          pool,
          `SELECT * FROM oauth_clients ORDER BY created_at COLLATE "C", client_id COLLATE "C"`,
        ),
    revoke: (id, now) => pgOne<ClientRow>(pool, `${pgText(CLIENT_SQL.revoke)} RETURNING *`, [now, id]),
    setSecret: async (id, hash, now) =>
      await pgRun(pool, pgText(CLIENT_SQL.setSecret), [hash, now, id]) === 1,
    forAuth: (id) => pgOne<ClientAuthRow>(pool, pgText(CLIENT_SQL.forAuth), [id]),
  };
}
