/**
 * Where sender keys are kept: the interface the key services use (keys.ts, jwks_fetch.ts) and its embedded
 * SQLite implementation (pg_key_store.ts is the PostgreSQL one). Every change of a sender's keys bumps its
 * `keys_version` in the same transaction, which is how every process's key cache notices it.
 */
import type { Db } from "../db/sqlite.ts";
import { transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { noSuchSender, SenderError } from "./errors.ts";

/** A `sender_keys` row as stored (public_jwk as JSON text, active 0/1). */
export interface SenderKeyRow {
  sender_id: string;
  key_id: string;
  alg: string;
  public_jwk: string;
  source: string;
  active: number;
  created_at: string;
}

/** A key to store. */
export interface NewSenderKey {
  keyId: string;
  alg: string;
  /** The public JWK as JSON text. */
  jwk: string;
}

/**
 * What a sender's key set is at: its creation time and its `keys_version`, as one text. The version alone restarts
 * at 0 when a sender is deleted and created again under the same id, and a cache keyed on it would then answer the
 * new sender with the old one's keys once its version caught up; the creation time tells the two apart.
 */
export function keysStamp(createdAt: string, version: number): string {
  return `${createdAt}#${version}`;
}

/** A sender's active keys and the stamp (`keysStamp`) they are at, read together. */
export interface ActiveKeys {
  stamp: string;
  keys: Array<{ key_id: string; alg: string; public_jwk: string }>;
}

/** The outcome of a JWKS fetch to record: the keys it gave, or the error. */
export type JwksResult = { ok: true; keys: NewSenderKey[] } | { ok: false; error: string };

/** The public keys senders sign with. */
export interface SenderKeyStore {
  /**
   * Adds a key (source `manual` or `jwks`) and bumps keys_version; refuses an unknown sender (not_found) and a
   * key id the sender already has (conflict). Returns the stored row.
   */
  add(senderId: string, key: NewSenderKey & { source: string }, now: string): Promise<SenderKeyRow>;
  /** Removes one key and bumps keys_version; refuses (not_found) a key that does not exist. */
  remove(senderId: string, keyId: string, now: string): Promise<void>;
  /** Every key of a sender, by created_at then key id. */
  list(senderId: string): Promise<SenderKeyRow[]>;
  /** The active keys and keys_version in one read (undefined: no such sender), for the key cache. */
  active(senderId: string): Promise<ActiveKeys | undefined>;
  /**
   * Records a JWKS fetch in one transaction: on success the sender's `jwks` keys are replaced by `result.keys`
   * (a key id it also has by hand keeps the manual key) and keys_version bumped; either way the fetch time,
   * status and error (at most 500 characters) are written. Refuses (not_found) a sender deleted meanwhile;
   * records nothing when `url` (the one fetched) is no longer the sender's jwks_url, or when a fetch was recorded
   * after `startedAt` (when this one began, `now` if not given): two fetches at once (the schedule, a request's
   * refetch, an operator's) are recorded in the order they began, so an older document never replaces a newer.
   */
  recordFetch(
    senderId: string,
    url: string,
    result: JwksResult,
    now: string,
    startedAt?: string,
  ): Promise<void>;
  /** Enabled senders with a JWKS URL whose last fetch is older than `cutoff` (or never), by id. */
  dueForRefresh(cutoff: string): Promise<string[]>;
}

/** What recordFetch reads of the sender before it records. */
export interface FetchedRow {
  jwks_url: string | null;
  jwks_fetched_at: string | null;
}

/**
 * Whether a fetch of `url` that began at `startedAt` may be recorded: the URL is still the sender's and no fetch
 * was recorded since it began (ISO times, compared as strings here, not in the database's collation).
 */
export function fetchStillCurrent(sender: FetchedRow, url: string, startedAt: string): boolean {
  return sender.jwks_url === url && (sender.jwks_fetched_at === null || sender.jwks_fetched_at <= startedAt);
}

/** SQL both dialects share word for word. */
export const KEY_SQL = {
  senderExists: "SELECT 1 AS one FROM senders WHERE sender_id = ?",
  keyExists: "SELECT 1 AS one FROM sender_keys WHERE sender_id = ? AND key_id = ?",
  insert: `INSERT INTO sender_keys (sender_id, key_id, alg, public_jwk, source, created_at)
    VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sender_id, key_id) DO NOTHING`,
  get: "SELECT * FROM sender_keys WHERE sender_id = ? AND key_id = ?",
  remove: "DELETE FROM sender_keys WHERE sender_id = ? AND key_id = ?",
  bump: "UPDATE senders SET keys_version = keys_version + 1, updated_at = ? WHERE sender_id = ?",
  active: `SELECT s.created_at, s.keys_version, k.key_id, k.alg, k.public_jwk
    FROM senders s LEFT JOIN sender_keys k ON k.sender_id = s.sender_id AND k.active = 1
    WHERE s.sender_id = ?`,
  dropJwks: "DELETE FROM sender_keys WHERE sender_id = ? AND source = 'jwks'",
  jwksUrl: "SELECT jwks_url, jwks_fetched_at FROM senders WHERE sender_id = ?",
  source: "SELECT source FROM sender_keys WHERE sender_id = ? AND key_id = ?",
  // With dropJwks, in the transaction that changes a sender's jwks_url (which also sets its updated_at): the
  // keys fetched from the old URL are gone, so keys_version moves on (every key cache drops them), and the last
  // fetch was another URL's, so the new one is fetched at the next refresh.
  urlChanged:
    `UPDATE senders SET keys_version = keys_version + 1, jwks_fetched_at = NULL, jwks_fetch_status = NULL,
    jwks_fetch_error = NULL WHERE sender_id = ? RETURNING *`,
  fetched:
    "UPDATE senders SET jwks_fetched_at = ?, jwks_fetch_status = ?, jwks_fetch_error = ? WHERE sender_id = ?",
} as const;

/** The rows of KEY_SQL.active as ActiveKeys (no row: no such sender; a null key_id: no active key). */
export function activeKeysOf(
  rows: Array<
    { created_at: string; keys_version: number; key_id: string | null; alg: string; public_jwk: string }
  >,
): ActiveKeys | undefined {
  if (rows.length === 0) return undefined;
  return {
    stamp: keysStamp(rows[0].created_at, Number(rows[0].keys_version)),
    keys: rows.filter((r) => r.key_id !== null).map((r) => ({
      key_id: r.key_id!,
      alg: r.alg,
      public_jwk: r.public_jwk,
    })),
  };
}

/** The values of KEY_SQL.fetched for `result`. */
export function fetchedValues(senderId: string, result: JwksResult, now: string): (string | null)[] {
  return [now, result.ok ? "ok" : "error", result.ok ? null : result.error.slice(0, 500), senderId];
}

/** The refusal of a key id the sender already has. */
export function keyTaken(senderId: string, keyId: string): SenderError {
  return new SenderError("conflict", `sender "${senderId}" already has key "${keyId}"`);
}

/**
 * The refusal to remove a key fetched from the sender's JWKS URL: the next fetch (at the refresh, or at once for a
 * request naming its id) would bring it back.
 */
export function fetchedKey(senderId: string, keyId: string): SenderError {
  return new SenderError(
    "conflict",
    `key "${keyId}" of sender "${senderId}" was fetched from its jwks_url, and the next fetch would bring it ` +
      "back: remove it from the JWKS there, or change or clear the sender's jwks_url (which drops every key " +
      "fetched from it)",
  );
}

/** The refusal of a key the sender does not have. */
export function noSuchKey(senderId: string, keyId: string): SenderError {
  return new SenderError("not_found", `sender "${senderId}" has no key "${keyId}"`);
}

/** The sender keys in the embedded SQLite database `db`. */
export function sqliteSenderKeyStore(db: Db): SenderKeyStore {
  return {
    add: (senderId, key, now) =>
      Promise.try(() =>
        transaction(db, () => {
          if (!stmt(db, KEY_SQL.senderExists).get(senderId)) throw noSuchSender(senderId);
          if (stmt(db, KEY_SQL.keyExists).get(senderId, key.keyId)) throw keyTaken(senderId, key.keyId);
          stmt(db, KEY_SQL.insert).run(senderId, key.keyId, key.alg, key.jwk, key.source, now);
          stmt(db, KEY_SQL.bump).run(now, senderId);
          return stmt(db, KEY_SQL.get).get(senderId, key.keyId) as unknown as SenderKeyRow;
        })
      ),
    remove: (senderId, keyId, now) =>
      Promise.try(() =>
        transaction(db, () => {
          const key = stmt(db, KEY_SQL.source).get(senderId, keyId) as { source: string } | undefined;
          if (key?.source === "jwks") throw fetchedKey(senderId, keyId);
          if (stmt(db, KEY_SQL.remove).run(senderId, keyId).changes === 0) throw noSuchKey(senderId, keyId);
          stmt(db, KEY_SQL.bump).run(now, senderId);
        })
      ),
    list: (senderId) =>
      Promise.try(() =>
        stmt(db, "SELECT * FROM sender_keys WHERE sender_id = ? ORDER BY created_at, key_id")
          .all(senderId) as unknown as SenderKeyRow[]
      ),
    active: (senderId) => Promise.try(() => activeKeysOf(stmt(db, KEY_SQL.active).all(senderId) as never)),
    recordFetch: (senderId, url, result, now, startedAt) =>
      Promise.try(() =>
        transaction(db, () => {
          const sender = stmt(db, KEY_SQL.jwksUrl).get(senderId) as FetchedRow | undefined;
          if (!sender) throw noSuchSender(senderId);
          if (!fetchStillCurrent(sender, url, startedAt ?? now)) return;
          if (result.ok) {
            stmt(db, KEY_SQL.dropJwks).run(senderId);
            const insert = stmt(db, KEY_SQL.insert);
            for (const k of result.keys) insert.run(senderId, k.keyId, k.alg, k.jwk, "jwks", now);
            stmt(db, KEY_SQL.bump).run(now, senderId);
          }
          stmt(db, KEY_SQL.fetched).run(...fetchedValues(senderId, result, now));
        })
      ),
    dueForRefresh: (cutoff) =>
      Promise.try(() =>
        (stmt(
          db,
          `SELECT sender_id FROM senders WHERE active = 1 AND jwks_url IS NOT NULL
             AND (jwks_fetched_at IS NULL OR jwks_fetched_at <= ?) ORDER BY sender_id`,
        ).all(cutoff) as Array<{ sender_id: string }>).map((r) => r.sender_id)
      ),
  };
}
