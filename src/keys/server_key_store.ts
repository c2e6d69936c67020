/**
 * Where the server's signing keys are kept: the interface ServerKeys (src/keys/server_keys.ts) reads and writes
 * through, and its embedded SQLite implementation. Rows only: generating, sealing and importing keys is
 * ServerKeys' part.
 */
import type { Db } from "../db/sqlite.ts";
import { transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { KeyEncryption } from "./kek.ts";
import { type SealReport, sealSecretsAtRest } from "./at_rest.ts";

/** A server key's row. */
export interface KeyRow {
  key_id: string;
  alg: "ed25519" | "rsa-sha256";
  public_jwk: string;
  /** PKCS#8 DER in base64, or sealed with the key-encryption key (src/keys/kek.ts). */
  private_der: string;
  /** `next`: published, and signs from `signs_from` on (a rotation's new key); then `active`, `published`, `retired`. */
  status: "next" | "active" | "published" | "retired";
  created_at: string;
  retired_at: string | null;
  /** When the key begins (`next`) or began to sign; null for keys older than migration 0034 (at created_at). */
  signs_from: string | null;
}

/** The server's signing keys, and the stored secrets sealed with the key-encryption keys. */
export interface ServerKeyStore {
  /** The active key (the signer), if any. */
  active(): Promise<KeyRow | undefined>;
  /** One key. */
  get(keyId: string): Promise<KeyRow | undefined>;
  /** Every key, newest first. */
  list(): Promise<KeyRow[]>;
  /** The keys a JWKS publishes (next, active and published): the signer first, then newest first. */
  published(): Promise<Pick<KeyRow, "key_id" | "alg" | "public_jwk">[]>;
  /** What a verifier needs of a key: its alg, status and public JWK. */
  verifier(keyId: string): Promise<Pick<KeyRow, "alg" | "status" | "public_jwk"> | undefined>;
  /**
   * Makes `key` the signer and the previous signer published, in one transaction; with `unlessActive`, only
   * when there is no signer yet (false: left as it was). Instances doing this at once take turns.
   */
  activate(
    key: NewKeyRow,
    options?: { unlessActive?: boolean },
  ): Promise<boolean>;
  /**
   * Stores `key` as the next signer, published now and signing from `key.signs_from`; false (nothing stored) when a
   * key is already waiting. Instances doing this at once take turns.
   */
  stage(key: NewKeyRow & { signs_from: string }): Promise<boolean>;
  /**
   * Makes the waiting key the signer (and the signer published) once its `signs_from` is at or before `now`, in one
   * transaction; true when it did. Instances doing this at once take turns: one of them does it.
   */
  promoteDue(now: string): Promise<boolean>;
  /**
   * Marks a key retired at `at` unless it is (or became, a waiting key promoted meanwhile) the signer; false when
   * nothing was retired.
   */
  retire(keyId: string, at: string): Promise<boolean>;
  /** Seals, re-seals or opens stored secrets to match `keks` (src/keys/at_rest.ts), in one transaction. */
  sealSecrets(keks: KeyEncryption): Promise<SealReport>;
}

/** A key's row as a rotation writes it (ServerKeys makes it). */
export type NewKeyRow = Omit<KeyRow, "status" | "retired_at" | "signs_from">;

/** Whether there is a signer. */
export const ACTIVE_EXISTS = "SELECT 1 FROM server_keys WHERE status = 'active'";
/** The signer's row. */
export const ACTIVE_KEY = "SELECT * FROM server_keys WHERE status = 'active'";
/** One key's row. */
export const KEY_BY_ID = "SELECT * FROM server_keys WHERE key_id = ?";
/** What a verifier reads of a key, in one point read. */
export const VERIFIER = "SELECT alg, status, public_jwk FROM server_keys WHERE key_id = ?";
/** The signer becomes a published key. */
export const DEMOTE_ACTIVE = "UPDATE server_keys SET status = 'published' WHERE status = 'active'";
/** A new signer, signing from its creation (`?`: key id, alg, public JWK, private part, created at, signs from). */
export const INSERT_ACTIVE =
  `INSERT INTO server_keys (key_id, alg, public_jwk, private_der, status, created_at,
  signs_from) VALUES (?, ?, ?, ?, 'active', ?, ?)`;
/** The next signer (`?`: as INSERT_ACTIVE). */
export const INSERT_NEXT = INSERT_ACTIVE.replace("'active'", "'next'");
/** Whether a key waits to sign. */
export const NEXT_EXISTS = "SELECT 1 FROM server_keys WHERE status = 'next'";
/** The waiting key whose time has come (`?`: now). */
export const NEXT_DUE = "SELECT key_id FROM server_keys WHERE status = 'next' AND signs_from <= ?";
/** The waiting key signs, from now (`?`: now, key id): its `signs_from` is when it began, however late. */
export const PROMOTE_NEXT =
  "UPDATE server_keys SET status = 'active', signs_from = ? WHERE key_id = ? AND status = 'next'";
/** An immediate rotation drops the waiting key, which never signed (`?`: when). */
export const RETIRE_NEXT = "UPDATE server_keys SET status = 'retired', retired_at = ? WHERE status = 'next'";
/** A key's retirement, never the signer's (`?`: when, key id). */
export const RETIRE_KEY =
  "UPDATE server_keys SET status = 'retired', retired_at = ? WHERE key_id = ? AND status IN ('next', 'published')";

/** The bound values of INSERT_ACTIVE (signing from its creation) and INSERT_NEXT. */
export function activeValues(key: NewKeyRow & { signs_from?: string }): string[] {
  return [
    key.key_id,
    key.alg,
    key.public_jwk,
    key.private_der,
    key.created_at,
    key.signs_from ?? key.created_at,
  ];
}

/** The server keys in the embedded SQLite database. */
export function sqliteServerKeyStore(db: Db): ServerKeyStore {
  return {
    active: () => Promise.try(() => stmt(db, ACTIVE_KEY).get() as KeyRow | undefined),
    get: (keyId) => Promise.try(() => stmt(db, KEY_BY_ID).get(keyId) as KeyRow | undefined),
    list: () =>
      Promise.try(() =>
        stmt(db, "SELECT * FROM server_keys ORDER BY created_at DESC, rowid DESC")
          .all() as unknown as KeyRow[]
      ),
    published: () =>
      Promise.try(() =>
        stmt(
          db,
          "SELECT key_id, alg, public_jwk FROM server_keys WHERE status IN ('next', 'active', 'published') ORDER BY status = 'active' DESC, created_at DESC, rowid DESC",
        ).all() as unknown as KeyRow[]
      ),
    verifier: (keyId) => Promise.try(() => stmt(db, VERIFIER).get(keyId) as KeyRow | undefined),
    activate: (key, options = {}) =>
      Promise.try(() =>
        transaction(db, () => {
          if (options.unlessActive && stmt(db, ACTIVE_EXISTS).get()) return false;
          stmt(db, RETIRE_NEXT).run(key.created_at);
          stmt(db, DEMOTE_ACTIVE).run();
          stmt(db, INSERT_ACTIVE).run(...activeValues(key));
          return true;
        })
      ),
    stage: (key) =>
      Promise.try(() =>
        transaction(db, () => {
          if (stmt(db, NEXT_EXISTS).get()) return false;
          stmt(db, INSERT_NEXT).run(...activeValues(key));
          return true;
        })
      ),
    promoteDue: (now) =>
      Promise.try(() => {
        // A read first: once a second in every process, and almost always nothing is due.
        if (!stmt(db, NEXT_DUE).get(now)) return false;
        return transaction(db, () => {
          const due = stmt(db, NEXT_DUE).get(now) as { key_id: string } | undefined;
          if (!due) return false;
          stmt(db, DEMOTE_ACTIVE).run();
          stmt(db, PROMOTE_NEXT).run(now, due.key_id);
          return true;
        });
      }),
    retire: (keyId, at) => Promise.try(() => Number(stmt(db, RETIRE_KEY).run(at, keyId).changes) === 1),
    sealSecrets: (keks) => Promise.try(() => sealSecretsAtRest(db, keks)),
  };
}
