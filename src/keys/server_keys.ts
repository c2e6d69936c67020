/** The server's own signing keys: generated on first start, rotated and retired by the operator. */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { Buffer } from "node:buffer";
import type { Db } from "../db/sqlite.ts";
import { transaction } from "../db/sqlite.ts";
import type { Clock } from "../clock.ts";
import { isoNow } from "../clock.ts";
import { stmt } from "../db/statements.ts";
import { isSealed, type KeyEncryption, seal, unseal } from "./kek.ts";

/** Signature algorithms as DCI names them. */
export type KeyAlg = "ed25519" | "rsa-sha256";

/** What an operator may see of a server key (never the private part). */
export interface KeyInfo {
  key_id: string;
  alg: KeyAlg;
  kid: string;
  status: "active" | "published" | "retired";
  created_at: string;
  retired_at: string | null;
}

/** A public JWK as published in our JWKS. */
export interface PublicJwk {
  kty: string;
  kid: string;
  use: "sig";
  alg: "EdDSA" | "RS256";
  crv?: string;
  x?: string;
  n?: string;
  e?: string;
}

/** The key that signs right now. */
export interface SigningKey {
  keyId: string;
  alg: KeyAlg;
  /** `{server_id}|{key_id}|{alg}`, the kid in our JWKS and the kidId in envelope signatures. */
  kid: string;
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** The private key for WebCrypto (jose signs access tokens with it: a KeyObject costs jose a conversion). */
  signingKey: CryptoKey;
}

/** A published key as verifiers need it: node:crypto and WebCrypto forms, made once per key id. */
export interface VerificationKey {
  keyId: string;
  alg: KeyAlg;
  key: KeyObject;
  cryptoKey: CryptoKey;
}

/** The WebCrypto algorithm of each key type. */
const WEBCRYPTO: Record<KeyAlg, RsaHashedImportParams | Algorithm> = {
  ed25519: { name: "Ed25519" },
  "rsa-sha256": { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
};

/** Thrown for an operator mistake (unknown key, retiring the signer). */
export class KeyError extends Error {}

interface KeyRow {
  key_id: string;
  alg: KeyAlg;
  public_jwk: string;
  /** PKCS#8 DER in base64, or sealed with the key-encryption key (src/keys/kek.ts). */
  private_der: string;
  status: KeyInfo["status"];
  created_at: string;
  retired_at: string | null;
}

/** The additional data a server key's sealed private part is bound to: its table, column and key id. */
export function privateKeyAad(keyId: string): string {
  return `server_keys.private_der:${keyId}`;
}

/**
 * Access to the server keys in SQLite, with the active key cached for a second at a time. Private parts are
 * sealed with the current key-encryption key when there is one.
 */
export class ServerKeys {
  #cached: { at: number; key: SigningKey } | undefined;
  /** Public keys by key id: a key id's material never changes, only its status (read on every use). */
  #public = new Map<string, VerificationKey>();

  constructor(
    private db: Db,
    private serverId: string,
    private clock: Clock,
    private encryption: KeyEncryption = {},
  ) {}

  /**
   * Stores a secret the server must read back (outbound credentials): sealed with the current key-encryption
   * key when there is one, else base64, the same two forms sealSecretsAtRest (at_rest.ts) converts between.
   */
  sealSecret(plaintext: string, aad: string): string {
    const bytes = new TextEncoder().encode(plaintext);
    const kek = this.encryption.current;
    return kek ? seal(kek, bytes, aad) : bytesToBase64(bytes);
  }

  /** Reads back what sealSecret stored; throws a KeyEncryptionError when no KEK given opens it. */
  openSecret(stored: string, aad: string): string {
    const bytes = isSealed(stored) ? unseal(this.encryption, stored, aad) : base64ToBytes(stored);
    return new TextDecoder().decode(bytes);
  }

  /** Creates the first Ed25519 key when none is active; returns true if it did. */
  ensureActive(): boolean {
    const active = stmt(this.db, "SELECT 1 FROM server_keys WHERE status = 'active'").get();
    if (active) return false;
    this.rotate("ed25519");
    return true;
  }

  /** Makes a new key of `alg` the signer; the previous signer stays published until retired. */
  rotate(alg: KeyAlg = "ed25519"): KeyInfo {
    const { privateKey, publicKey } = alg === "ed25519"
      ? generateKeyPairSync("ed25519")
      : generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyId = `k${new Date(this.clock.now()).toISOString().slice(0, 10).replaceAll("-", "")}-${
      randomBytes(4).toString("hex")
    }`;
    const der = privateKey.export({ format: "der", type: "pkcs8" }) as Uint8Array;
    const kek = this.encryption.current;
    const stored = kek ? seal(kek, der, privateKeyAad(keyId)) : bytesToBase64(der);
    const jwk = JSON.stringify(publicKey.export({ format: "jwk" }));
    transaction(this.db, () => {
      stmt(this.db, "UPDATE server_keys SET status = 'published' WHERE status = 'active'").run();
      stmt(
        this.db,
        "INSERT INTO server_keys (key_id, alg, public_jwk, private_der, status, created_at) VALUES (?, ?, ?, ?, 'active', ?)",
      ).run(keyId, alg, jwk, stored, isoNow(this.clock));
    });
    this.#cached = undefined;
    return this.info(keyId)!;
  }

  /** Stops publishing a key. The active key cannot be retired: rotate first. */
  retire(keyId: string): KeyInfo {
    const row = this.#row(keyId);
    if (!row) throw new KeyError(`Key "${keyId}" does not exist`);
    if (row.status === "active") {
      throw new KeyError(`Key "${keyId}" is the active signer: rotate before retiring it`);
    }
    if (row.status === "retired") throw new KeyError(`Key "${keyId}" is already retired`);
    stmt(this.db, "UPDATE server_keys SET status = 'retired', retired_at = ? WHERE key_id = ?")
      .run(isoNow(this.clock), keyId);
    return this.info(keyId)!;
  }

  /** Every key, newest first. */
  list(): KeyInfo[] {
    const rows = stmt(this.db, "SELECT * FROM server_keys ORDER BY created_at DESC, rowid DESC")
      .all() as unknown[];
    return (rows as KeyRow[]).map((r) => this.#toInfo(r));
  }

  /** One key's public description. */
  info(keyId: string): KeyInfo | undefined {
    const row = this.#row(keyId);
    return row ? this.#toInfo(row) : undefined;
  }

  /** The JWKS document: every key that is active or still published. */
  jwks(): { keys: PublicJwk[] } {
    const rows = stmt(
      this.db,
      "SELECT key_id, alg, public_jwk FROM server_keys WHERE status IN ('active', 'published') ORDER BY created_at DESC, rowid DESC",
    ).all() as unknown as Pick<KeyRow, "key_id" | "alg" | "public_jwk">[];
    return {
      keys: rows.map((r) => {
        const jwk = JSON.parse(r.public_jwk) as Record<string, string>;
        const base = { kid: this.kid(r.key_id, r.alg), use: "sig" as const };
        return r.alg === "ed25519"
          ? { kty: "OKP", crv: "Ed25519", x: jwk.x, alg: "EdDSA" as const, ...base }
          : { kty: "RSA", n: jwk.n, e: jwk.e, alg: "RS256" as const, ...base };
      }),
    };
  }

  /**
   * The signing key, re-read from the database at most once a second so rotations in other processes apply;
   * `fresh` reads it now (access tokens: one signed by a key rotated out a moment ago would stop working as
   * soon as that key is retired, while the key of a signed envelope only has to be published when it is sent).
   */
  active(options: { fresh?: boolean } = {}): SigningKey {
    const now = this.clock.now();
    if (this.#cached && !options.fresh && now - this.#cached.at < 1000) return this.#cached.key;
    const row = stmt(this.db, "SELECT * FROM server_keys WHERE status = 'active'").get() as
      | KeyRow
      | undefined;
    if (!row) throw new KeyError("No active server key: run `dci-server keys rotate`");
    if (this.#cached?.key.keyId === row.key_id) {
      this.#cached.at = now;
      return this.#cached.key;
    }
    const der = isSealed(row.private_der)
      ? unseal(this.encryption, row.private_der, privateKeyAad(row.key_id))
      : Buffer.from(row.private_der, "base64");
    const privateKey = createPrivateKey({
      key: Buffer.from(der),
      format: "der",
      type: "pkcs8",
    });
    const key: SigningKey = {
      keyId: row.key_id,
      alg: row.alg,
      kid: this.kid(row.key_id, row.alg),
      privateKey,
      publicKey: createPublicKey(privateKey),
      signingKey: privateKey.toCryptoKey(WEBCRYPTO[row.alg], false, ["sign"]),
    };
    this.#cached = { at: now, key };
    return key;
  }

  /**
   * The public key of `kid` if it is one of ours and still active or published. The status is read from SQLite
   * on every call (one indexed read), so a key retired by any process or isolate stops verifying at once.
   */
  verificationKey(kid: string): VerificationKey | undefined {
    const [serverId, keyId, alg, extra] = kid.split("|");
    if (serverId !== this.serverId || !keyId || extra !== undefined) return undefined;
    const row = stmt(this.db, "SELECT alg, status FROM server_keys WHERE key_id = ?").get(keyId) as
      | Pick<KeyRow, "alg" | "status">
      | undefined;
    if (!row || row.alg !== alg || row.status === "retired") return undefined;
    let cached = this.#public.get(keyId);
    if (!cached) {
      const { public_jwk } = stmt(this.db, "SELECT public_jwk FROM server_keys WHERE key_id = ?").get(
        keyId,
      ) as {
        public_jwk: string;
      };
      const key = createPublicKey({ key: JSON.parse(public_jwk), format: "jwk" });
      const cryptoKey = key.toCryptoKey(WEBCRYPTO[row.alg], true, ["verify"]);
      cached = { keyId, alg: row.alg, key, cryptoKey };
      this.#public.set(keyId, cached);
    }
    return cached;
  }

  /** The published kid of a key: `{server_id}|{key_id}|{alg}`. */
  kid(keyId: string, alg: KeyAlg): string {
    return `${this.serverId}|${keyId}|${alg}`;
  }

  #row(keyId: string): KeyRow | undefined {
    return stmt(this.db, "SELECT * FROM server_keys WHERE key_id = ?").get(keyId) as KeyRow | undefined;
  }

  #toInfo(r: KeyRow): KeyInfo {
    return {
      key_id: r.key_id,
      alg: r.alg,
      kid: this.kid(r.key_id, r.alg),
      status: r.status,
      created_at: r.created_at,
      retired_at: r.retired_at,
    };
  }
}

/** Standard base64 of bytes. */
export function bytesToBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

/** Bytes of standard base64. */
export function base64ToBytes(b64: string): Uint8Array {
  return new Uint8Array(Buffer.from(b64, "base64"));
}
