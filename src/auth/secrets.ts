/** Secrets at rest: scrypt hashes with a per-secret salt, compared in constant time; random tokens. */
import { createHash, randomBytes, scrypt, timingSafeEqual } from "node:crypto";
import { Buffer } from "node:buffer";

const KEYLEN = 32;
const PARAMS = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 };

/** A stored secret hash. */
export interface SecretHash {
  salt: string;
  hash: string;
}

/** Hashes a secret with scrypt and a fresh random salt. */
export function hashSecret(secret: string): Promise<SecretHash> {
  const salt = randomBytes(16);
  return new Promise((resolve, reject) =>
    scrypt(
      secret,
      salt,
      KEYLEN,
      PARAMS,
      (err, key) =>
        err ? reject(err) : resolve({ salt: salt.toString("base64"), hash: key.toString("base64") }),
    )
  );
}

/** True when `secret` matches the stored hash (constant-time comparison). */
export function verifySecret(secret: string, stored: SecretHash): Promise<boolean> {
  const expected = Buffer.from(stored.hash, "base64");
  return new Promise((resolve, reject) =>
    scrypt(secret, Buffer.from(stored.salt, "base64"), expected.length || KEYLEN, PARAMS, (err, key) => {
      if (err) return reject(err);
      resolve(key.length === expected.length && timingSafeEqual(key, expected));
    })
  );
}

/** A random URL-safe secret with a recognisable prefix, e.g. `dcia_…`. */
export function randomToken(prefix: string, bytes = 32): string {
  return `${prefix}_${randomBytes(bytes).toString("base64url")}`;
}

/** A fast, non-secret lookup key for a token (SHA-256 prefix); the slow hash does the verifying. */
export function lookupKey(token: string): string {
  return createHash("sha256").update(token, "utf8").digest("hex").slice(0, 32);
}

/** SHA-256 hex of a string (cache keys; never stored as the only protection of a secret). */
export function sha256Hex(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}
