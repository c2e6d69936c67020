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
  status: "active" | "published" | "retired";
  created_at: string;
  retired_at: string | null;
}

/** The server's signing keys, and the stored secrets sealed with the key-encryption keys. */
export interface ServerKeyStore {
  /** The active key (the signer), if any. */
  active(): Promise<KeyRow | undefined>;
  /** One key. */
  get(keyId: string): Promise<KeyRow | undefined>;
  /** Every key, newest first. */
  list(): Promise<KeyRow[]>;
  /** The keys a JWKS publishes (active and published), newest first. */
  published(): Promise<Pick<KeyRow, "key_id" | "alg" | "public_jwk">[]>;
  /** What a verifier needs of a key: its alg, status and public JWK. */
  verifier(keyId: string): Promise<Pick<KeyRow, "alg" | "status" | "public_jwk"> | undefined>;
  /**
   * Makes `key` the signer and the previous signer published, in one transaction; with `unlessActive`, only
   * when there is no signer yet (false: left as it was). Instances doing this at once take turns.
   */
  activate(
    key: Omit<KeyRow, "status" | "retired_at">,
    options?: { unlessActive?: boolean },
  ): Promise<boolean>;
  /** Marks a key retired at `at` (ServerKeys checks it is not the signer). */
  retire(keyId: string, at: string): Promise<void>;
  /** Seals, re-seals or opens stored secrets to match `keks` (src/keys/at_rest.ts), in one transaction. */
  sealSecrets(keks: KeyEncryption): Promise<SealReport>;
}

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
/** A new signer (`?`: key id, alg, public JWK, private part, created at). */
export const INSERT_ACTIVE =
  "INSERT INTO server_keys (key_id, alg, public_jwk, private_der, status, created_at) VALUES (?, ?, ?, ?, 'active', ?)";
/** A key's retirement (`?`: when, key id). */
export const RETIRE_KEY = "UPDATE server_keys SET status = 'retired', retired_at = ? WHERE key_id = ?";

/** The bound values of INSERT_ACTIVE. */
export function activeValues(key: Omit<KeyRow, "status" | "retired_at">): string[] {
  return [key.key_id, key.alg, key.public_jwk, key.private_der, key.created_at];
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
          "SELECT key_id, alg, public_jwk FROM server_keys WHERE status IN ('active', 'published') ORDER BY created_at DESC, rowid DESC",
        ).all() as unknown as KeyRow[]
      ),
    verifier: (keyId) => Promise.try(() => stmt(db, VERIFIER).get(keyId) as KeyRow | undefined),
    activate: (key, options = {}) =>
      Promise.try(() =>
        transaction(db, () => {
          if (options.unlessActive && stmt(db, ACTIVE_EXISTS).get()) return false;
          stmt(db, DEMOTE_ACTIVE).run();
          stmt(db, INSERT_ACTIVE).run(...activeValues(key));
          return true;
        })
      ),
    retire: (keyId, at) =>
      Promise.try(() => {
        stmt(db, RETIRE_KEY).run(at, keyId);
      }),
    sealSecrets: (keks) => Promise.try(() => sealSecretsAtRest(db, keks)),
  };
}
