/**
 * Sender public keys: parsed from PEM or JWK (manual) or a JWKS (fetched), stored as JWK, and cached as
 * imported KeyObjects per sender, invalidated by the sender's `keys_version` stamp.
 */
import { createPublicKey, type KeyObject } from "node:crypto";
import type { Deps } from "../deps.ts";
import type { KeyAlg } from "../keys/server_keys.ts";
import { normaliseAlg } from "../auth/envelope_signature.ts";
import { isoNow } from "../clock.ts";
import { transaction } from "../db/sqlite.ts";
import { SenderError } from "./store.ts";
import { stmt } from "../db/statements.ts";
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

const KEY_ID = /^[A-Za-z0-9._:-]{1,99}$/;

/** Refuses a key id that is not 1 to 99 of `[A-Za-z0-9._:-]` (it is a path segment and part of a kidId). */
export function checkKeyId(keyId: unknown): asserts keyId is string {
  if (typeof keyId !== "string" || !KEY_ID.test(keyId)) {
    const shown = JSON.stringify(typeof keyId === "string" ? keyId.slice(0, 100) : keyId ?? null);
    throw new SenderError("invalid", `key_id ${shown} must be [A-Za-z0-9._:-], 1 to 99 characters`);
  }
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
  const wanted = alg ? normaliseAlg(alg) : undefined;
  if (alg && wanted !== detected) {
    throw new SenderError("invalid", `alg "${alg}" does not match a ${type} key`);
  }
  const jwk = key.export({ format: "jwk" }) as Record<string, unknown>;
  return { key, alg: detected, jwk };
}

/** Parses a JWK text; the error never quotes it (V8's JSON errors repeat a slice of the input). */
function jsonOf(text: string): Record<string, unknown> {
  try {
    return JSON.parse(text);
  } catch {
    throw new SenderError("invalid", "not a usable public key (PEM or JWK): the JWK is not valid JSON");
  }
}

/** Adds (or, for the same source, replaces) a key of a sender; bumps the sender's keys_version. */
export function addSenderKey(
  deps: Deps,
  senderId: string,
  input: {
    keyId: string;
    material: string | Record<string, unknown>;
    alg?: string;
    source?: "manual" | "jwks";
  },
): SenderKey {
  checkKeyId(input.keyId);
  const parsed = parsePublicKey(input.material, input.alg);
  transaction(deps.db, () => {
    requireSender(deps, senderId);
    const existing = stmt(deps.db, "SELECT 1 FROM sender_keys WHERE sender_id = ? AND key_id = ?")
      .get(senderId, input.keyId);
    if (existing) throw new SenderError("conflict", `sender "${senderId}" already has key "${input.keyId}"`);
    stmt(
      deps.db,
      "INSERT INTO sender_keys (sender_id, key_id, alg, public_jwk, source, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    ).run(
      senderId,
      input.keyId,
      parsed.alg,
      JSON.stringify(parsed.jwk),
      input.source ?? "manual",
      isoNow(deps.clock),
    );
    bumpKeys(deps, senderId);
  });
  return listSenderKeys(deps, senderId).find((k) => k.key_id === input.keyId)!;
}

/** Removes one key; refused if it does not exist. */
export function removeSenderKey(deps: Deps, senderId: string, keyId: string): void {
  transaction(deps.db, () => {
    const res = stmt(deps.db, "DELETE FROM sender_keys WHERE sender_id = ? AND key_id = ?").run(
      senderId,
      keyId,
    );
    if (res.changes === 0) throw new SenderError("not_found", `sender "${senderId}" has no key "${keyId}"`);
    bumpKeys(deps, senderId);
  });
}

/** Every key of a sender. */
export function listSenderKeys(deps: Deps, senderId: string): SenderKey[] {
  const rows = stmt(deps.db, "SELECT * FROM sender_keys WHERE sender_id = ? ORDER BY created_at, key_id")
    .all(senderId) as Record<string, string | number>[];
  return rows.map((r) => ({
    sender_id: r.sender_id as string,
    key_id: r.key_id as string,
    alg: r.alg as KeyAlg,
    jwk: JSON.parse(r.public_jwk as string),
    source: r.source as "manual" | "jwks",
    active: r.active === 1,
    created_at: r.created_at as string,
  }));
}

/** Marks the sender's keys changed so every isolate's cache re-imports them. */
export function bumpKeys(deps: Deps, senderId: string): void {
  stmt(deps.db, "UPDATE senders SET keys_version = keys_version + 1, updated_at = ? WHERE sender_id = ?")
    .run(isoNow(deps.clock), senderId);
}

/** Throws not_found unless the sender exists. */
export function requireSender(deps: Deps, senderId: string): void {
  if (!stmt(deps.db, "SELECT 1 FROM senders WHERE sender_id = ?").get(senderId)) {
    throw new SenderError("not_found", `sender "${senderId}" does not exist`);
  }
}

/** A sender's imported active keys by key id. */
export type SenderKeySet = Map<string, { alg: KeyAlg; key: KeyObject }>;

interface CachedKeys {
  version: number;
  keys: SenderKeySet;
}

const CACHES = new WeakMap<Deps, Map<string, CachedKeys>>();

/**
 * The imported active keys of a sender at `version` (the stamp read with the sender row). Re-imports only
 * when the stamp moved, so a key change in any process applies at the next request.
 */
export function senderKeySet(
  deps: Deps,
  senderId: string,
  version: number,
): SenderKeySet {
  let cache = CACHES.get(deps);
  if (!cache) CACHES.set(deps, cache = new Map());
  const hit = cache.get(senderId);
  if (hit && hit.version === version) return hit.keys;
  const keys: SenderKeySet = new Map();
  const rows = stmt(
    deps.db,
    "SELECT key_id, alg, public_jwk FROM sender_keys WHERE sender_id = ? AND active = 1",
  )
    .all(senderId) as Array<{ key_id: string; alg: KeyAlg; public_jwk: string }>;
  for (const r of rows) {
    keys.set(r.key_id, {
      alg: r.alg,
      key: createPublicKey({ key: JSON.parse(r.public_jwk), format: "jwk" }),
    });
  }
  cache.set(senderId, { version, keys });
  deps.metrics.inc("dci_sender_key_imports_total", "Sender key sets imported into the key cache");
  return keys;
}
