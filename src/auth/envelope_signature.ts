/**
 * DCI envelope signatures (the body's `signature` string), as dci-protocol.md fixes them:
 * digest = base64(SHA-256(canonical JSON of {header, message})), signing string
 * `(created): C\n(expires): E\ndigest: D`, signed with Ed25519 or RSA-SHA256 (PKCS#1 v1.5).
 */
import { createHash, type KeyObject, sign, verify } from "node:crypto";
import { Buffer } from "node:buffer";
import { canonicalForms, canonicalJson, parseKeepingNumberLiterals } from "../dci/canonical.ts";
import type { KeyAlg, SigningKey } from "../keys/server_keys.ts";

/** Largest allowed `expires − created` unless a sender has its own, and the tolerated skew of `created` (s). */
export const MAX_SIGNATURE_WINDOW_S = 300;
export const SIGNATURE_SKEW_S = 60;
/** The most a per-sender validity maximum may be raised to (seconds). */
export const SIGNATURE_WINDOW_CEILING_S = 3600;

/**
 * The validity window a sender's signatures may span: its own maximum when it has one (clamped to 1 to
 * SIGNATURE_WINDOW_CEILING_S), else the default MAX_SIGNATURE_WINDOW_S.
 */
export function signatureWindowS(senderMaxS?: number | null): number {
  if (senderMaxS === undefined || senderMaxS === null || !Number.isFinite(senderMaxS)) {
    return MAX_SIGNATURE_WINDOW_S;
  }
  return Math.min(Math.max(1, Math.floor(senderMaxS)), SIGNATURE_WINDOW_CEILING_S);
}

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
  | { reason: "unknown_key"; senderId: string; keyId: string; alg: KeyAlg }
  | { reason: "expired" | "not_yet_valid" }
  | { reason: "window_too_long"; maxS: number }
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
  options: { nowMs: number; ttlSeconds?: number; canonicalMessage?: string },
): string {
  const created = Math.floor(options.nowMs / 1000);
  const expires = created + Math.min(options.ttlSeconds ?? MAX_SIGNATURE_WINDOW_S, MAX_SIGNATURE_WINDOW_S);
  // A message already in canonical form (a bulk search page, canonicalised once when stored) is hashed as it is.
  const digest = options.canonicalMessage === undefined
    ? envelopeDigest(envelope, { asciiEscape: true })
    : createHash("sha256").update(
      `{"header":${canonicalJson(envelope.header, { asciiEscape: true })},"message":`,
      "utf8",
    ).update(options.canonicalMessage, "utf8").update("}").digest("base64");
  const sig = sign(
    key.alg === "ed25519" ? null : "sha256",
    signingString(created, expires, digest),
    key.privateKey,
  );
  return `namespace="dci", kidId="${key.kid}", algorithm="${key.alg}", created="${created}", expires="${expires}", ` +
    `headers="(created) (expires) digest", signature="${Buffer.from(sig).toString("base64")}"`;
}

/**
 * Parses a DCI signature string: `name="value"` or `name=value` parameters (OpenSPP's parser takes both),
 * separated by commas, after one optional `Signature:` (the spec's MsgSignature example starts with it). The
 * grammar's parts never overlap, so it runs in linear time on any input.
 */
export function parseSignature(
  raw: string,
): { ok: true; params: SignatureParams } | { ok: false; detail: string } {
  const value = raw.replace(/^\s*signature\s*:/i, "");
  const fields = new Map<string, string>();
  const re = /\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^\s,"]+))\s*(,|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < value.length && (m = re.exec(value)) !== null) fields.set(m[1], m[2] ?? m[3]);
  if (re.lastIndex !== value.length || fields.size === 0) {
    return { ok: false, detail: "not a DCI signature string" };
  }
  const kid = parseKid(fields.get("kidId") ?? fields.get("keyId") ?? "");
  if (!kid?.senderId || !kid.keyId) {
    return { ok: false, detail: 'kidId must be "{sender_id}|{key_id}|{alg}"' };
  }
  const alg = normaliseAlg(fields.get("algorithm") ?? kid.alg ?? "");
  if (!alg) {
    return { ok: false, detail: `algorithm "${fields.get("algorithm") ?? kid.alg ?? ""}" is not supported` };
  }
  const created = unixSeconds(fields.get("created"));
  const expires = unixSeconds(fields.get("expires"));
  if (created === undefined || expires === undefined) {
    return { ok: false, detail: "created and expires must be unix seconds" };
  }
  const sigText = fields.get("signature") ?? "";
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(sigText)) return { ok: false, detail: "signature is not base64" };
  return {
    ok: true,
    params: {
      senderId: kid.senderId,
      keyId: kid.keyId,
      alg,
      created,
      expires,
      signature: new Uint8Array(Buffer.from(sigText, "base64")),
    },
  };
}

/**
 * Unix seconds written as digits only: Number() alone reads "" and blanks as 0 and takes "1e3" or "0x10", which
 * would turn a malformed time into an expired (or valid) one.
 */
function unixSeconds(text: string | undefined): number | undefined {
  return text !== undefined && /^\d{1,15}$/.test(text) ? Number(text) : undefined;
}

/**
 * Splits a kid `{sender_id}|{key_id}|{alg}` (or `{sender_id}|{key_id}`) from the right: key ids and algorithm
 * names never hold `|`, a sender id may (it is any printable ASCII), so the sender id is everything before the
 * key id. Undefined without any `|`; the parts may be empty (callers refuse that).
 */
export function parseKid(kid: string): { senderId: string; keyId: string; alg?: string } | undefined {
  const last = kid.lastIndexOf("|");
  if (last < 0) return undefined;
  const before = last === 0 ? -1 : kid.lastIndexOf("|", last - 1);
  return before < 0
    ? { senderId: kid.slice(0, last), keyId: kid.slice(last + 1) }
    : { senderId: kid.slice(0, before), keyId: kid.slice(before + 1, last), alg: kid.slice(last + 1) };
}

/** Maps DCI algorithm names and aliases to ours. */
export function normaliseAlg(name: string): KeyAlg | undefined {
  const n = name.toLowerCase();
  if (n === "ed25519" || n === "eddsa") return "ed25519";
  if (n === "rsa-sha256" || n === "rs256") return "rsa-sha256";
  return undefined;
}

/**
 * Verifies an envelope's signature string. `resolveKey` finds the public key for (sender_id, key_id). The
 * digest is tried over the canonical forms a signer may have hashed: ASCII-escaped and JCS, and, only when those
 * fail and `sourceText` (the JSON text the envelope was parsed from) has numbers JSON.stringify would write
 * differently, the same forms with each number as the sender wrote it (`5.0`, `1e-07`: Python's json.dumps). A
 * signature from a JavaScript signer or without such numbers costs one digest and one verification, as before.
 * `maxWindowS` is the sender's validity maximum (signatureWindowS()).
 */
export function verifyEnvelope(
  envelope: Signable & { signature?: unknown },
  options: {
    nowMs: number;
    resolveKey: (senderId: string, keyId: string, alg: KeyAlg) => KeyObject | undefined;
    sourceText?: string;
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
  const maxS = options.maxWindowS ?? MAX_SIGNATURE_WINDOW_S;
  if (p.expires - p.created > maxS || p.expires < p.created) {
    return { ok: false, failure: { reason: "window_too_long", maxS } };
  }
  if (now > p.expires) return { ok: false, failure: { reason: "expired" } };
  if (p.created > now + SIGNATURE_SKEW_S) return { ok: false, failure: { reason: "not_yet_valid" } };
  const key = options.resolveKey(p.senderId, p.keyId, p.alg);
  if (!key) {
    return {
      ok: false,
      failure: { reason: "unknown_key", senderId: p.senderId, keyId: p.keyId, alg: p.alg },
    };
  }
  const hash = p.alg === "ed25519" ? null : "sha256";
  const matches = (json: string) => {
    const digest = createHash("sha256").update(json, "utf8").digest("base64");
    return verify(hash, signingString(p.created, p.expires, digest), key, p.signature);
  };
  try {
    for (const json of canonicalForms({ header: envelope.header, message: envelope.message })) {
      if (matches(json)) return { ok: true, params: p };
    }
    const literal = options.sourceText === undefined
      ? undefined
      : parseKeepingNumberLiterals(options.sourceText) as Partial<Signable> | undefined;
    if (literal) {
      for (const json of canonicalForms({ header: literal.header, message: literal.message })) {
        if (matches(json)) return { ok: true, params: p };
      }
    }
  } catch {
    // A signature of the wrong length for the key, or a source text that is not JSON after all.
  }
  return { ok: false, failure: { reason: "mismatch" } };
}

function signingString(created: number, expires: number, digest: string): Uint8Array {
  return new TextEncoder().encode(`(created): ${created}\n(expires): ${expires}\ndigest: ${digest}`);
}
