/**
 * Sender public keys: parsed from PEM or JWK (manual) or a JWKS (fetched), stored as JWK, and cached as
 * imported KeyObjects per sender, invalidated by the sender's `keys_version` stamp.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import type { Deps } from "../deps.ts";
import type { KeyAlg } from "../keys/server_keys.ts";
import type { SenderKeySet } from "./key_cache.ts";
import { normaliseAlg } from "../auth/envelope_signature.ts";
import { isoNow } from "../clock.ts";
import { SenderError } from "./errors.ts";
import type { SenderKeyRow } from "./key_store.ts";
import { MAX_JWK_JSON } from "../dci/limits.ts";
import { privateKeyKind, privateKeyRefusal } from "./private_key.ts";

/** A sender key as listed (public material only). */
export interface SenderKey {
  sender_id: string;
  key_id: string;
  alg: KeyAlg;
  jwk: Record<string, unknown>;
  source: "manual" | "jwks";
  active: boolean;
  created_at: string;
}

/**
 * 1 to 99 of `[A-Za-z0-9_.:-]` (`_`: RFC 7638 thumbprints, base64url, are common kids), but not `.` or `..`, which a
 * URL path resolves away (a partner's JWKS names them).
 */
const KEY_ID = /^(?!\.\.?$)[A-Za-z0-9_.:-]{1,99}$/;

/**
 * Refuses a key id that is not 1 to 99 of `[A-Za-z0-9_.:-]`, or is `.` or `..` (it is a path segment and part of
 * a kidId: `…/keys/../remove` would be `…/remove`, the sender's own).
 */
export function checkKeyId(keyId: unknown): asserts keyId is string {
  if (!isKeyId(keyId)) {
    const shown = JSON.stringify(typeof keyId === "string" ? keyId.slice(0, 100) : keyId ?? null);
    throw new SenderError(
      "invalid",
      `key_id ${shown} must be [A-Za-z0-9_.:-], 1 to 99 characters, not . or ..`,
    );
  }
}

/** Whether `keyId` is a key id checkKeyId accepts (one a sender can have). */
export function isKeyId(keyId: unknown): keyId is string {
  return typeof keyId === "string" && KEY_ID.test(keyId);
}

/** Parses a PEM (SPKI / certificate) or a JWK into a public key; throws SenderError on anything else. */
export function parsePublicKey(material: string | Record<string, unknown>, alg?: string): {
  key: KeyObject;
  alg: KeyAlg;
  jwk: Record<string, unknown>;
} {
  let key: KeyObject;
  const size = typeof material === "string" ? material.length : JSON.stringify(material)?.length ?? 0;
  if (size > MAX_JWK_JSON) throw new SenderError("invalid", `key is larger than ${MAX_JWK_JSON} characters`);
  // A private key is refused before any parser sees it, so no error message can quote its material.
  const privateKind = privateKeyKind(material);
  if (privateKind) throw new SenderError("invalid", privateKeyRefusal(privateKind));
  if (typeof material === "string" && material.trim().startsWith("{")) {
    return parsePublicKey(jsonOf(material.trim()), alg);
  }
  try {
    if (typeof material === "string") {
      const text = material.trim();
      if (!text.startsWith("-----BEGIN ")) throw new Error("not PEM");
      key = createPublicKey({ key: text, format: "pem" });
    } else {
      key = createPublicKey({ key: material as import("node:crypto").JsonWebKey, format: "jwk" });
    }
  } catch (err) {
    throw new SenderError("invalid", `not a usable public key (PEM or JWK): ${(err as Error).message}`);
  }
  const type = key.asymmetricKeyType;
  const detected: KeyAlg | undefined = type === "ed25519"
    ? "ed25519"
    : type === "rsa"
    ? "rsa-sha256"
    : undefined;
  if (!detected) throw new SenderError("invalid", `key type "${type}" is not supported (ed25519 or RSA)`);
  if (detected === "rsa-sha256" && (key.asymmetricKeyDetails?.modulusLength ?? 0) < 2048) {
    throw new SenderError("invalid", "RSA keys must have at least 2048 bits");
  }
  const wanted = alg ? keyAlg(alg) : undefined;
  if (wanted && wanted !== detected) {
    throw new SenderError("invalid", `alg "${alg}" does not match a ${type} key`);
  }
  const jwk = key.export({ format: "jwk" }) as Record<string, unknown>;
  return { key, alg: detected, jwk };
}

/**
 * The alg a key is added with: the signature's names (ed25519, EdDSA, rsa-sha256, RS256) and `rsa`, as
 * `keys rotate --alg ed25519|rsa` spells it; anything else is refused with the names accepted.
 */
function keyAlg(alg: string): KeyAlg {
  const wanted = alg.toLowerCase() === "rsa" ? "rsa-sha256" : normaliseAlg(alg);
  if (!wanted) {
    throw new SenderError(
      "invalid",
      `alg ${JSON.stringify(alg.slice(0, 40))} must be ed25519 (EdDSA) or rsa-sha256 (RS256, rsa)`,
    );
  }
  return wanted;
}

/** Parses a JWK text; the error never quotes it (V8's JSON errors repeat a slice of the input). */
function jsonOf(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text);
  } catch {
    throw new SenderError("invalid", "not a usable public key (PEM or JWK): the JWK is not valid JSON");
  }
}

/** Adds a key of a sender (refused if it has one by that id); bumps the sender's keys_version. */
export async function addSenderKey(
  deps: Deps,
  senderId: string,
  input: {
    keyId: string;
    material: string | Record<string, unknown>;
    alg?: string;
    source?: "manual" | "jwks";
  },
): Promise<SenderKey> {
  checkKeyId(input.keyId);
  const parsed = parsePublicKey(input.material, input.alg);
  const row = await deps.storage.senderKeys.add(senderId, {
    keyId: input.keyId,
    alg: parsed.alg,
    jwk: JSON.stringify(parsed.jwk),
    source: input.source ?? "manual",
  }, isoNow(deps.clock));
  return toKey(row);
}

/** Removes one key; refused if it does not exist. */
export function removeSenderKey(deps: Deps, senderId: string, keyId: string): Promise<void> {
  return deps.storage.senderKeys.remove(senderId, keyId, isoNow(deps.clock));
}

/** Every key of a sender. */
export async function listSenderKeys(deps: Deps, senderId: string): Promise<SenderKey[]> {
  return (await deps.storage.senderKeys.list(senderId)).map(toKey);
}

function toKey(r: SenderKeyRow): SenderKey {
  return {
    sender_id: r.sender_id,
    key_id: r.key_id,
    alg: r.alg as KeyAlg,
    jwk: JSON.parse(r.public_jwk),
    source: r.source as "manual" | "jwks",
    active: r.active === 1,
    created_at: r.created_at,
  };
}

/** A sender's imported active keys by key id (src/senders/key_cache.ts). */
export type { SenderKeySet };

/**
 * The imported active keys of a sender at `stamp` (`keysStamp`, read with the sender row in the bearer check).
 * Re-imports only when the stamp moved, so a key change in any process, or any instance on one PostgreSQL
 * database, applies at the next request. The keys are re-read together with the version they are at and cached
 * under that stamp: a request that read an older stamp imports again rather than keeping newer keys under an
 * older label. A sender deleted meanwhile has no keys.
 */
export async function senderKeySet(
  deps: Deps,
  senderId: string,
  stamp: string,
): Promise<SenderKeySet> {
  return deps.senderKeyCache.get(senderId, stamp) ?? await currentSenderKeySet(deps, senderId);
}

/**
 * The sender's active keys as stored now, imported and cached under the stamp they were read at: after a JWKS
 * refetch, whose keys the stamp the bearer check read before it does not name.
 */
export async function currentSenderKeySet(deps: Deps, senderId: string): Promise<SenderKeySet> {
  const read = await deps.storage.senderKeys.active(senderId);
  const keys: SenderKeySet = new Map();
  for (const r of read?.keys ?? []) {
    keys.set(r.key_id, {
      alg: r.alg as KeyAlg,
      key: createPublicKey({ key: JSON.parse(r.public_jwk), format: "jwk" }),
    });
  }
  if (read) deps.senderKeyCache.set(senderId, read.stamp, keys);
  deps.metrics.inc("dci_sender_key_imports_total", "Sender key sets imported into the key cache");
  return keys;
}
