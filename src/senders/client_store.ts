/**
 * Where OAuth2 clients are kept: the interface clients.ts uses and its embedded SQLite implementation
 * (pg_client_store.ts is the PostgreSQL one; every statement here is the same in both dialects). A client's
 * secret is stored only as its scrypt hash (JSON text), never in clear.
 */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";

/** An `oauth_clients` row as stored (active 0/1, scopes space-separated, secret_hash a scrypt hash as JSON). */
export interface ClientRow {
  client_id: string;
  sender_id: string;
  name: string | null;
  secret_hash: string;
  scopes: string;
  active: number;
  created_at: string;
  secret_rotated_at: string | null;
  revoked_at: string | null;
}

/** Where a page of clients starts (after the last row of the previous one) and how many it holds. */
export interface ClientPage {
  after?: { created_at: string; client_id: string };
  limit: number;
}

/** The list statement's parameters after its SQL's (senderId, senderId, created_at, client_id, limit). */
export function listValues(
  senderId: string | undefined,
  page: ClientPage | undefined,
): Array<string | number | null> {
  const after = page?.after ?? { created_at: "", client_id: "" };
  return [senderId ?? null, senderId ?? null, after.created_at, after.client_id, page?.limit ?? -1];
}

/** A client row with its sender's `active` flag, for authentication. */
export type ClientAuthRow = ClientRow & { sender_active: number };

/** A client to store. */
export type NewClient = Pick<
  ClientRow,
  "client_id" | "sender_id" | "name" | "secret_hash" | "scopes" | "created_at"
>;

/** The OAuth2 clients of senders. */
export interface ClientStore {
  /** Stores a new client; false (nothing stored) when its sender does not exist. */
  insert(client: NewClient): Promise<boolean>;
  /** One client, or undefined. */
  get(clientId: string): Promise<ClientRow | undefined>;
  /**
   * Clients (of one sender, or of all) by created_at then client id, after a page's last row, at most `limit`
   * (every one without a page).
   */
  list(senderId?: string, page?: ClientPage): Promise<ClientRow[]>;
  /** Revokes an active client; its row after, or undefined when it is unknown or already revoked. */
  revoke(clientId: string, now: string): Promise<ClientRow | undefined>;
  /** Replaces an active client's secret hash; false when the client is unknown or revoked. */
  setSecret(clientId: string, secretHash: string, now: string): Promise<boolean>;
  /** The client with its sender's active flag (the token endpoint's one read), or undefined. */
  forAuth(clientId: string): Promise<ClientAuthRow | undefined>;
}

/** Every statement of the store, in SQLite's form (the PostgreSQL store numbers them with pgText). */
export const CLIENT_SQL = {
  // One statement: the sender's existence and the insert cannot be split by a delete in between.
  insert: `INSERT INTO oauth_clients (client_id, sender_id, name, secret_hash, scopes, created_at)
    SELECT ?, sender_id, ?, ?, ?, ? FROM senders WHERE sender_id = ?`,
  get: "SELECT * FROM oauth_clients WHERE client_id = ?",
  revoke: "UPDATE oauth_clients SET active = 0, revoked_at = ? WHERE client_id = ? AND active = 1",
  setSecret:
    "UPDATE oauth_clients SET secret_hash = ?, secret_rotated_at = ? WHERE client_id = ? AND active = 1",
  forAuth: `SELECT c.*, s.active AS sender_active FROM oauth_clients c JOIN senders s USING (sender_id)
    WHERE c.client_id = ?`,
  /** (listValues). A negative limit is none. */
  list: `SELECT * FROM oauth_clients WHERE (? IS NULL OR sender_id = ?) AND (created_at, client_id) > (?, ?)
    ORDER BY created_at, client_id LIMIT ?+0`,
} as const;

/** The values of CLIENT_SQL.insert for `c`. */
export function insertValues(c: NewClient): (string | null)[] {
  return [c.client_id, c.name, c.secret_hash, c.scopes, c.created_at, c.sender_id];
}

/** The OAuth2 clients in the embedded SQLite database `db`. */
export function sqliteClientStore(db: Db): ClientStore {
  const get = (id: string) => stmt(db, CLIENT_SQL.get).get(id) as ClientRow | undefined;
  return {
    insert: (c) => Promise.try(() => stmt(db, CLIENT_SQL.insert).run(...insertValues(c)).changes === 1),
    get: (id) => Promise.try(() => get(id)),
    list: (senderId, page) =>
      Promise.try(() =>
        stmt(db, CLIENT_SQL.list).all(...listValues(senderId, page)) as unknown as ClientRow[]
      ),
    revoke: (id, now) =>
      Promise.try(() => stmt(db, CLIENT_SQL.revoke).run(now, id).changes === 0 ? undefined : get(id)),
    setSecret: (id, hash, now) =>
      Promise.try(() => stmt(db, CLIENT_SQL.setSecret).run(hash, now, id).changes === 1),
    forAuth: (id) => Promise.try(() => stmt(db, CLIENT_SQL.forAuth).get(id) as ClientAuthRow | undefined),
  };
}
