/**
 * DCI envelope signatures (the body's `signature` string), as dci-protocol.md fixes them:
 * digest = base64(SHA-256(canonical JSON of {header, message})), signing string
 * `(created): C\n(expires): E\ndigest: D`, signed with Ed25519 or RSA-SHA256 (PKCS#1 v1.5).
 */
import { createHash, type KeyObject, sign, verify } from "node:crypto";
import { Buffer } from "node:buffer";
import { canonicalJson } from "../dci/canonical.ts";
import type { KeyAlg, SigningKey } from "../keys/server_keys.ts";

/** Largest allowed `expires − created`, and the tolerated clock skew for `created`, in seconds. */
export const MAX_SIGNATURE_WINDOW_S = 300;
export const SIGNATURE_SKEW_S = 60;

/** The parts of an envelope a signature covers. */
export interface Signable {
  header: unknown;
  message: unknown;
}

/** The parsed parameters of a DCI signature string. */
export interface SignatureParams {
  senderId: string;
  keyId: string;
  alg: KeyAlg;
  created: number;
  expires: number;
  signature: Uint8Array;
}

/** Why a signature did not verify; the HTTP layer maps these to `err.*` codes. */
export type SignatureFailure =
  | { reason: "missing" }
  | { reason: "malformed"; detail: string }
  | { reason: "unknown_key"; senderId: string; keyId: string }
  | { reason: "expired" | "not_yet_valid" | "window_too_long" }
  | { reason: "mismatch" };

/** Base64 SHA-256 digest of the canonical {header, message}, in the signing (ASCII-escaped) form. */
export function envelopeDigest(envelope: Signable, options: { asciiEscape?: boolean } = {}): string {
  const json = canonicalJson({ header: envelope.header, message: envelope.message }, {
    asciiEscape: options.asciiEscape ?? true,
  });
  return createHash("sha256").update(json, "utf8").digest("base64");
}

/** Builds the signature string for `envelope`, signed now with `key`, valid for `ttlSeconds`. */
export function signEnvelope(
  envelope: Signable,
  key: Pick<SigningKey, "kid" | "alg" | "privateKey">,
  options: { nowMs: number; ttlSeconds?: number },
): string {
  const created = Math.floor(options.nowMs / 1000);
  const expires = created + Math.min(options.ttlSeconds ?? MAX_SIGNATURE_WINDOW_S, MAX_SIGNATURE_WINDOW_S);
  const digest = envelopeDigest(envelope, { asciiEscape: true });
  const sig = sign(
    key.alg === "ed25519" ? null : "sha256",
    signingString(created, expires, digest),
    key.privateKey,
  );
  return `namespace="dci", kidId="${key.kid}", algorithm="${key.alg}", created="${created}", expires="${expires}", ` +
    `headers="(created) (expires) digest", signature="${Buffer.from(sig).toString("base64")}"`;
}

/** Parses a DCI signature string; returns undefined with a reason if it is not one. */
export function parseSignature(
  value: string,
): { ok: true; params: SignatureParams } | { ok: false; detail: string } {
  const fields = new Map<string, string>();
  const re = /\s*([A-Za-z]+)\s*=\s*"([^"]*)"\s*(,|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < value.length && (m = re.exec(value)) !== null) fields.set(m[1], m[2]);
  if (re.lastIndex !== value.length || fields.size === 0) {
    return { ok: false, detail: "not a DCI signature string" };
  }
  const kidId = fields.get("kidId") ?? fields.get("keyId");
  const parts = kidId?.split("|") ?? [];
  if (parts.length < 2 || !parts[0] || !parts[1]) {
    return { ok: false, detail: 'kidId must be "{sender_id}|{key_id}|{alg}"' };
  }
  const alg = normaliseAlg(fields.get("algorithm") ?? parts[2] ?? "");
  if (!alg) {
    return { ok: false, detail: `algorithm "${fields.get("algorithm") ?? parts[2]}" is not supported` };
  }
  const created = Number(fields.get("created"));
  const expires = Number(fields.get("expires"));
  if (!Number.isSafeInteger(created) || !Number.isSafeInteger(expires)) {
    return { ok: false, detail: "created and expires must be unix seconds" };
  }
  const sigText = fields.get("signature") ?? "";
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sigText)) return { ok: false, detail: "signature is not base64" };
  return {
    ok: true,
    params: {
      senderId: parts[0],
      keyId: parts[1],
      alg,
      created,
      expires,
      signature: new Uint8Array(Buffer.from(sigText, "base64")),
    },
  };
}

/** Maps DCI algorithm names and aliases to ours. */
export function normaliseAlg(name: string): KeyAlg | undefined {
  const n = name.toLowerCase();
  if (n === "ed25519" || n === "eddsa") return "ed25519";
  if (n === "rsa-sha256" || n === "rs256") return "rsa-sha256";
  return undefined;
}

/**
 * Verifies an envelope's signature string. `resolveKey` finds the public key for (sender_id, key_id);
 * both canonical forms (JCS and ASCII-escaped) are tried so Python-made signatures verify.
 */
export function verifyEnvelope(
  envelope: Signable & { signature?: unknown },
  options: {
    nowMs: number;
    resolveKey: (senderId: string, keyId: string, alg: KeyAlg) => KeyObject | undefined;
    /** The sender's largest allowed expires − created (default MAX_SIGNATURE_WINDOW_S). */
    maxWindowS?: number;
  },
): { ok: true; params: SignatureParams } | { ok: false; failure: SignatureFailure } {
  if (typeof envelope.signature !== "string" || envelope.signature.trim() === "") {
    return { ok: false, failure: { reason: "missing" } };
  }
  const parsed = parseSignature(envelope.signature);
  if (!parsed.ok) return { ok: false, failure: { reason: "malformed", detail: parsed.detail } };
  const p = parsed.params;
  const now = Math.floor(options.nowMs / 1000);
  if (p.expires - p.created > (options.maxWindowS ?? MAX_SIGNATURE_WINDOW_S) || p.expires < p.created) {
    return { ok: false, failure: { reason: "window_too_long" } };
  }
  if (now > p.expires) return { ok: false, failure: { reason: "expired" } };
  if (p.created > now + SIGNATURE_SKEW_S) return { ok: false, failure: { reason: "not_yet_valid" } };
  const key = options.resolveKey(p.senderId, p.keyId, p.alg);
  if (!key) return { ok: false, failure: { reason: "unknown_key", senderId: p.senderId, keyId: p.keyId } };
  const hash = p.alg === "ed25519" ? null : "sha256";
  for (const asciiEscape of [true, false]) {
    const digest = envelopeDigest(envelope, { asciiEscape });
    try {
      if (verify(hash, signingString(p.created, p.expires, digest), key, p.signature)) {
        return { ok: true, params: p };
      }
    } catch {
      return { ok: false, failure: { reason: "mismatch" } };
    }
  }
  return { ok: false, failure: { reason: "mismatch" } };
}

function signingString(created: number, expires: number, digest: string): Uint8Array {
  return new TextEncoder().encode(`(created): ${created}\n(expires): ${expires}\ndigest: ${digest}`);
}
