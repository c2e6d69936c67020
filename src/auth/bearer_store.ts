/** The bearer check's one read: the interface the services use, and its embedded SQLite implementation. */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";

/** A client with its sender's row, as the bearer check needs it (flags 0/1 as SQLite stores them). */
export interface BearerClientRow {
  active: number;
  sender_id: string;
  scopes: string;
  /** When the client's secret was last rotated (ISO, ms), or null: tokens of an earlier secret are refused. */
  secret_rotated_at: string | null;
  sender_active: number;
  sender_created_at: string;
  keys_version: number;
  limit_minute: number | null;
  limit_day: number | null;
  signature_policy: string | null;
  signature_max_window_s: number | null;
  test_mode: number;
  lenient: string;
  /** The status of the server key that signed the token (null when this server has no such key). */
  key_status: string | null;
}

/** The client behind an access token, read on every request that carries one. */
export interface BearerStore {
  /**
   * The client `clientId` with its sender and the status of server key (`keyId`, `keyAlg`) in one indexed read;
   * undefined when there is no such client.
   */
  lookup(clientId: string, keyId: string, keyAlg: string): Promise<BearerClientRow | undefined>;
  /**
   * Where the store can confirm a row inside the admission's write (SQLite): a check that `row`, read earlier for
   * (`clientId`, `keyId`, `keyAlg`), is still what the lookup reads. It runs in the write transaction that counts
   * the request, so a row cached by the bearer check is confirmed in the same step that admits the request: a
   * change committed before it (a client revoked, a key retired, a limit changed) is seen. `memo` is shared by the
   * requests of one write, so each client is read once per write. Without it (PostgreSQL) nothing is cached.
   */
  confirm?(
    clientId: string,
    keyId: string,
    keyAlg: string,
    row: BearerClientRow,
  ): (memo: Map<string, string>) => boolean;
}

/** The outcome of an admission whose cached bearer row was no longer current: the chain runs again on a fresh read. */
export class StaleBearerRow extends Error {
  constructor() {
    super("the client's row changed since the bearer check read it");
  }
}

/** The bearer lookup (key id, key alg, client id). Both backends. */
export const BEARER_LOOKUP =
  `SELECT c.active, c.sender_id, c.scopes, c.secret_rotated_at, s.active AS sender_active, s.created_at AS sender_created_at, s.keys_version, s.limit_minute, s.limit_day,
       s.signature_policy, s.signature_max_window_s, s.test_mode, s.lenient,
       (SELECT status FROM server_keys WHERE key_id = ? AND alg = ?) AS key_status
     FROM oauth_clients c JOIN senders s USING (sender_id) WHERE c.client_id = ?`;

/** The bearer lookup in the embedded SQLite database. */
export function sqliteBearerStore(db: Db): BearerStore {
  const read = (clientId: string, keyId: string, keyAlg: string) =>
    stmt(db, BEARER_LOOKUP).get(keyId, keyAlg, clientId) as BearerClientRow | undefined;
  return {
    lookup: (clientId, keyId, keyAlg) => Promise.resolve(read(clientId, keyId, keyAlg)),
    confirm(clientId, keyId, keyAlg, row) {
      const expected = JSON.stringify(row);
      const key = `${clientId}\n${keyId}\n${keyAlg}`;
      return (memo) => {
        let now = memo.get(key);
        if (now === undefined) memo.set(key, now = JSON.stringify(read(clientId, keyId, keyAlg) ?? null));
        return now === expected;
      };
    },
  };
}
