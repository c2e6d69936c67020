/**
 * The server's own signing keys: generated on first start, rotated and retired by the operator. A rotation
 * publishes the new key first and makes it the signer `publishSeconds` later (DCI_KEY_PUBLISH_SECONDS), so a
 * partner that cached our JWKS a moment before knows the new key by the time it signs anything.
 */
import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomBytes,
} from "node:crypto";
import { Buffer } from "node:buffer";
import type { Clock } from "../clock.ts";
import { isoNow } from "../clock.ts";
import { isSealed, type KeyEncryption, seal, unseal } from "./kek.ts";
import type { KeyRow, NewKeyRow, ServerKeyStore } from "./server_key_store.ts";
import type { Logger } from "../obs/log.ts";

/** Signature algorithms as DCI names them. */
export type KeyAlg = "ed25519" | "rsa-sha256";

/** What an operator may see of a server key (never the private part). */
export interface KeyInfo {
  key_id: string;
  alg: KeyAlg;
  kid: string;
  status: "next" | "active" | "published" | "retired";
  created_at: string;
  retired_at: string | null;
  /** When the key begins (`next`) or began to sign. */
  signs_from: string;
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

/** The additional data a server key's sealed private part is bound to: its table, column and key id. */
export function privateKeyAad(keyId: string): string {
  return `server_keys.private_der:${keyId}`;
}

/**
 * Access to the server keys (deps.storage.serverKeys), with the signer cached: it is loaded when Deps open and
 * after a rotation here, and re-read in the background at most once a second, so signing stays synchronous and
 * rotations in other processes or instances apply within about a second. Private parts are sealed with the
 * current key-encryption key when there is one.
 */
export class ServerKeys {
  #cached: { at: number; key: SigningKey } | undefined;
  #loading: Promise<unknown> | undefined;
  /** Reads of the signer started, and the latest one applied: a read that finishes late applies nothing. */
  #reads = 0;
  #applied = 0;
  /** Public keys by key id: a key id's material never changes, only its status (read on every use). */
  #public = new Map<string, VerificationKey>();
  /** When a failed background re-read was last logged (one line a minute while it keeps failing). */
  #loggedFailureAt = -Infinity;
  #log: Logger | undefined;
  #publishMs: number;

  constructor(
    private store: ServerKeyStore,
    private serverId: string,
    private clock: Clock,
    private encryption: KeyEncryption = {},
    options: {
      log?: Logger;
      /** How long a rotation's new key is published before it signs (0: it signs at once). */
      publishSeconds?: number;
    } = {},
  ) {
    this.#log = options.log;
    this.#publishMs = (options.publishSeconds ?? 0) * 1000;
  }

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

  /**
   * Creates the first Ed25519 key when none is active (once, however many instances start at once), then loads
   * the signer; returns true if it created the key.
   */
  async ensureActive(): Promise<boolean> {
    // A read first: every start comes here, and a write would wait for (and fail under) another process's lock.
    const created = !await this.store.active() &&
      await this.store.activate(this.#newKey("ed25519"), { unlessActive: true });
    await this.load();
    return created;
  }

  /**
   * Makes a new key of `alg` the next signer: published now, signing once `publishSeconds` have passed (refused
   * while another key waits). With `now` (a signer that must stop at once, a compromised key), no publish time or
   * no signer yet, it signs at once, and a key that was waiting is retired (it never signed). The previous signer
   * stays published until retired.
   */
  async rotate(alg: KeyAlg = "ed25519", options: { now?: boolean } = {}): Promise<KeyInfo> {
    const key = this.#newKey(alg);
    if (options.now || this.#publishMs <= 0 || !await this.store.active()) await this.store.activate(key);
    else {
      const signsFrom = new Date(this.clock.now() + this.#publishMs).toISOString();
      if (!await this.store.stage({ ...key, signs_from: signsFrom })) {
        const waiting = (await this.list()).find((k) => k.status === "next");
        throw new KeyError(
          `Key "${waiting?.key_id}" already waits to sign (from ${waiting?.signs_from}): ` +
            "rotate with --now to replace it and sign with a new key at once, or retire it first",
        );
      }
    }
    await this.load();
    return (await this.info(key.key_id))!;
  }

  /** Stops publishing a key (a waiting one never signs). The active key cannot be retired: rotate first. */
  async retire(keyId: string): Promise<KeyInfo> {
    const row = await this.store.get(keyId);
    if (!row) throw new KeyError(`Key "${keyId}" does not exist`);
    if (row.status === "active") {
      throw new KeyError(`Key "${keyId}" is the active signer: rotate before retiring it`);
    }
    if (row.status === "retired") throw new KeyError(`Key "${keyId}" is already retired`);
    // A waiting key may have become the signer since it was read: then it is refused as the signer is.
    if (!await this.store.retire(keyId, isoNow(this.clock))) {
      throw new KeyError(`Key "${keyId}" is the active signer now: rotate before retiring it`);
    }
    return (await this.info(keyId))!;
  }

  /** Every key, newest first. */
  async list(): Promise<KeyInfo[]> {
    return (await this.store.list()).map((r) => this.#toInfo(r));
  }

  /** One key's public description. */
  async info(keyId: string): Promise<KeyInfo | undefined> {
    const row = await this.store.get(keyId);
    return row ? this.#toInfo(row) : undefined;
  }

  /** The JWKS document: every key that is active (first), waiting to sign, or still published. */
  async jwks(): Promise<{ keys: PublicJwk[] }> {
    return {
      keys: (await this.store.published()).map((r) => {
        const jwk = JSON.parse(r.public_jwk) as Record<string, string>;
        const base = { kid: this.kid(r.key_id, r.alg), use: "sig" as const };
        return r.alg === "ed25519"
          ? { kty: "OKP", crv: "Ed25519", x: jwk.x, alg: "EdDSA" as const, ...base }
          : { kty: "RSA", n: jwk.n, e: jwk.e, alg: "RS256" as const, ...base };
      }),
    };
  }

  /**
   * Reads the signer now and caches it; undefined (and nothing cached) when there is none. A waiting key whose time
   * has come becomes the signer first (by whichever process or instance reads first).
   */
  async load(): Promise<SigningKey | undefined> {
    const read = ++this.#reads;
    // A promotion that fails (the write lock held too long) is tried again at the next read; the signer stays.
    await this.store.promoteDue(isoNow(this.clock)).catch((err) => this.#readFailed(err));
    const row = await this.store.active();
    if (read < this.#applied) return this.#cached?.key;
    this.#applied = read;
    const now = this.clock.now();
    if (!row) {
      this.#cached = undefined;
      return undefined;
    }
    if (this.#cached?.key.keyId !== row.key_id) this.#cached = { at: now, key: this.#signingKey(row) };
    this.#cached.at = now;
    return this.#cached.key;
  }

  /**
   * The signing key, from the cache: signing stays synchronous. Once the cached key is a second old it is re-read
   * in the background, so a rotation elsewhere applies from the next signature after that read (the key it
   * replaced stays published, so what it signed still verifies).
   */
  active(): SigningKey {
    const cached = this.#cached;
    if ((!cached || this.clock.now() - cached.at >= 1000) && !this.#loading) {
      this.#loading = this.load().catch((err) => this.#readFailed(err)).finally(
        () => (this.#loading = undefined),
      );
    }
    if (!cached) throw new KeyError("No active server key: run `dci-server keys rotate`");
    return cached.key;
  }

  /**
   * A background re-read or a waiting key's promotion failed (the database, or a new key's row this process cannot
   * unseal: a key-encryption key missing here): signing goes on with the cached key, which stays published until
   * retired, and the failure is logged as an error once a minute, so an instance left behind by a rotation is seen
   * before its key is retired.
   */
  #readFailed(err: unknown): void {
    const now = this.clock.now();
    if (now - this.#loggedFailureAt < 60_000) return;
    this.#loggedFailureAt = now;
    this.#log?.error("server signing key re-read failed; still signing with the cached key", {
      key_id: this.#cached?.key.keyId,
      err,
    });
  }

  /**
   * The signing key read now (access tokens: one signed by a key rotated out a moment ago would stop working as
   * soon as that key is retired, while the key of a signed envelope only has to be published when it is sent).
   */
  async fresh(): Promise<SigningKey> {
    const key = await this.load();
    if (!key) throw new KeyError("No active server key: run `dci-server keys rotate`");
    return key;
  }

  /**
   * The public key of `kid` if it is one of ours and still active or published. The status is read from the
   * database on every call (one point read), so a key retired by any process or instance stops verifying at once.
   */
  async verificationKey(kid: string): Promise<VerificationKey | undefined> {
    const [serverId, keyId, alg, extra] = kid.split("|");
    if (serverId !== this.serverId || !keyId || extra !== undefined) return undefined;
    const row = await this.store.verifier(keyId);
    if (!row || row.alg !== alg || row.status === "retired") return undefined;
    let cached = this.#public.get(keyId);
    if (!cached) {
      const key = createPublicKey({ key: JSON.parse(row.public_jwk), format: "jwk" });
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

  /** A new key pair of `alg` as its row: the private part sealed when there is a key-encryption key. */
  #newKey(alg: KeyAlg): NewKeyRow {
    const { privateKey, publicKey } = alg === "ed25519"
      ? generateKeyPairSync("ed25519")
      : generateKeyPairSync("rsa", { modulusLength: 2048 });
    const keyId = `k${new Date(this.clock.now()).toISOString().slice(0, 10).replaceAll("-", "")}-${
      randomBytes(4).toString("hex")
    }`;
    const der = privateKey.export({ format: "der", type: "pkcs8" }) as Uint8Array;
    const kek = this.encryption.current;
    return {
      key_id: keyId,
      alg,
      public_jwk: JSON.stringify(publicKey.export({ format: "jwk" })),
      private_der: kek ? seal(kek, der, privateKeyAad(keyId)) : bytesToBase64(der),
      created_at: isoNow(this.clock),
    };
  }

  #signingKey(row: KeyRow): SigningKey {
    const der = isSealed(row.private_der)
      ? unseal(this.encryption, row.private_der, privateKeyAad(row.key_id))
      : Buffer.from(row.private_der, "base64");
    const privateKey = createPrivateKey({ key: Buffer.from(der), format: "der", type: "pkcs8" });
    return {
      keyId: row.key_id,
      alg: row.alg,
      kid: this.kid(row.key_id, row.alg),
      privateKey,
      publicKey: createPublicKey(privateKey),
      signingKey: privateKey.toCryptoKey(WEBCRYPTO[row.alg], false, ["sign"]),
    };
  }

  #toInfo(r: KeyRow): KeyInfo {
    return {
      key_id: r.key_id,
      alg: r.alg,
      kid: this.kid(r.key_id, r.alg),
      status: r.status,
      created_at: r.created_at,
      retired_at: r.retired_at,
      signs_from: r.signs_from ?? r.created_at,
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
