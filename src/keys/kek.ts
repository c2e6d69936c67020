/**
 * The key-encryption key (KEK): when the operator provides one, private keys and other secrets the server must
 * be able to use again are stored sealed with AES-256-GCM (a random 96-bit nonce per value, the row's identity
 * as additional data, so a sealed value copied to another row does not open). Sealed values carry a versioned
 * prefix and the KEK's fingerprint, so plaintext rows (no KEK), rows sealed with the current KEK and rows sealed
 * with the previous one (during a rotation) can be told apart.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Config } from "../config.ts";

/** One key-encryption key: its 32 bytes and a public fingerprint naming it in sealed values and messages. */
export interface Kek {
  id: string;
  key: Uint8Array;
}

/** The KEKs this process holds: `current` seals, `previous` (rotation) only opens. Both may be absent. */
export interface KeyEncryption {
  current?: Kek;
  previous?: Kek;
}

/** A KEK setting is invalid, or a sealed value cannot be opened with the KEKs given. */
export class KeyEncryptionError extends Error {}

/** A KEK setting is invalid (malformed, both forms set, its file unreadable or in the data dir): exit code 2. */
export class KekSettingError extends KeyEncryptionError {
  /** A configuration error, as the CLI reports it (restarting does not fix it). */
  readonly exitCode = 2;
}

/** `dcikek1:<kek id>:<nonce>:<ciphertext and tag>`; ":" is outside base64, so no plaintext value matches. */
const PREFIX = "dcikek1:";
const SEALED = /^dcikek1:([0-9a-f]{16}):([A-Za-z0-9_-]{16}):([A-Za-z0-9_-]+)$/;

/** The fingerprint of a KEK: the first 64 bits of SHA-256 over a label and the key (reveals nothing usable). */
function kekId(key: Uint8Array): string {
  return createHash("sha256").update("dci-server kek v1\0").update(key).digest("hex").slice(0, 16);
}

/** A KEK from its base64 text (whitespace around it ignored) or, for a file, 32 raw bytes. */
export function parseKek(text: string | Uint8Array, what: string): Kek {
  let key: Uint8Array | undefined;
  if (text instanceof Uint8Array && text.length === 32) key = text;
  else {
    const b64 = (typeof text === "string" ? text : new TextDecoder().decode(text)).trim();
    if (/^[A-Za-z0-9+/_-]{43}=?$/.test(b64)) key = new Uint8Array(Buffer.from(b64, "base64"));
  }
  if (!key || key.length !== 32) {
    throw new KekSettingError(
      `${what} must be 32 random bytes in base64 (e.g. \`openssl rand -base64 32\`)`,
    );
  }
  return { id: kekId(key), key };
}

/**
 * Loads the KEKs from the settings: DCI_KEY_ENCRYPTION_KEY or DCI_KEY_ENCRYPTION_KEY_FILE (not both), and the
 * same pair with _PREVIOUS. A key file may not lie inside the data dir: a copy of the data dir would carry the
 * key that opens it.
 */
export async function loadKeyEncryption(config: Config): Promise<KeyEncryption> {
  const pick = async (value: string, file: string, env: string): Promise<Kek | undefined> => {
    if (value && file) throw new KekSettingError(`Set ${env} or ${env}_FILE, not both`);
    if (value) return parseKek(value, env);
    if (!file) return undefined;
    await refuseInsideDataDir(file, config.dataDir, `${env}_FILE`);
    let bytes: Uint8Array;
    try {
      bytes = await Deno.readFile(file);
    } catch (err) {
      throw new KekSettingError(`${env}_FILE ${file} cannot be read: ${(err as Error).message}`);
    }
    return parseKek(bytes, `${env}_FILE ${file}`);
  };
  const current = await pick(config.keyEncryptionKey, config.keyEncryptionKeyFile, "DCI_KEY_ENCRYPTION_KEY");
  const previous = await pick(
    config.keyEncryptionKeyPrevious,
    config.keyEncryptionKeyPreviousFile,
    "DCI_KEY_ENCRYPTION_KEY_PREVIOUS",
  );
  if (current && previous && current.id === previous.id) return { current };
  return { current, previous };
}

async function refuseInsideDataDir(file: string, dataDir: string, setting: string): Promise<void> {
  if (dataDir === ":memory:") return;
  const real = async (p: string) => {
    try {
      return await Deno.realPath(p);
    } catch {
      return p;
    }
  };
  const [f, d] = await Promise.all([real(file), real(dataDir)]);
  if (f === d || f.startsWith(d.endsWith("/") ? d : `${d}/`)) {
    throw new KekSettingError(
      `${setting} ${file} is inside the data dir ${dataDir}: anyone who copies the data dir would get the key ` +
        "that opens it; keep the key file elsewhere",
    );
  }
}

/** True when a stored value is sealed (as opposed to a plaintext value written without a KEK). */
export function isSealed(stored: string): boolean {
  return stored.startsWith(PREFIX);
}

/** The fingerprint of the KEK that sealed `stored`, or undefined for a plaintext value. */
export function sealedWith(stored: string): string | undefined {
  return SEALED.exec(stored)?.[1];
}

/** Seals `plaintext` with `kek`; `aad` names the value's place (table and row id). */
export function seal(kek: Kek, plaintext: Uint8Array, aad: string): string {
  const nonce = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", kek.key, nonce);
  cipher.setAAD(Buffer.from(aad, "utf8"));
  const body = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  return `${PREFIX}${kek.id}:${nonce.toString("base64url")}:${body.toString("base64url")}`;
}

/** Opens a sealed value with whichever KEK sealed it; throws a KeyEncryptionError saying which KEK is missing. */
export function unseal(keks: KeyEncryption, stored: string, aad: string): Uint8Array {
  const m = SEALED.exec(stored);
  if (!m) throw new KeyEncryptionError(`${aad} is not a sealed value`);
  const kek = [keks.current, keks.previous].find((k) => k?.id === m[1]);
  if (!kek) {
    const have = [keks.current, keks.previous].filter((k) => k).map((k) => k!.id);
    throw new KeyEncryptionError(
      `${aad} is encrypted with the key-encryption key ${m[1]}, ` +
        (have.length
          ? `but this server has only ${
            have.join(" and ")
          }: set DCI_KEY_ENCRYPTION_KEY (or _PREVIOUS during a rotation) to that key`
          : "and no key-encryption key is set: set DCI_KEY_ENCRYPTION_KEY or DCI_KEY_ENCRYPTION_KEY_FILE"),
    );
  }
  const body = Buffer.from(m[3], "base64url");
  if (body.length < 16) throw new KeyEncryptionError(`${aad} is not a sealed value`);
  try {
    const decipher = createDecipheriv("aes-256-gcm", kek.key, Buffer.from(m[2], "base64url"));
    decipher.setAAD(Buffer.from(aad, "utf8"));
    decipher.setAuthTag(body.subarray(body.length - 16));
    return new Uint8Array(
      Buffer.concat([decipher.update(body.subarray(0, body.length - 16)), decipher.final()]),
    );
  } catch {
    throw new KeyEncryptionError(`${aad} does not open with key-encryption key ${kek.id}: it was altered`);
  }
}
