/**
 * DCI envelope signatures (the body's `signature` string), exactly as the server signs and verifies them:
 * digest = base64(SHA-256(canonical JSON of {header, message})), signing string
 * `(created): C\n(expires): E\ndigest: D`, Ed25519 or RSA-SHA256 (PKCS#1 v1.5), kidId `{sender_id}|{key_id}|{alg}`.
 */
import {
  type CanonicalForm,
  canonicalForms,
  canonicalJson,
  parseKeepingNumberLiterals,
} from "./canonical.ts";
import { sha256Base64, toBase64, utf8 } from "./encoding.ts";
import { type KeyAlg, type SenderKey, signatureBytes, signBytes, verifyBytes } from "./keys.ts";

/** The longest validity (expires − created) the server accepts by default, and the skew it tolerates (s). */
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
  kid: string;
  created: number;
  expires: number;
  signature: Uint8Array;
}

/** Why a signature did not verify. */
export type SignatureFailure =
  | "missing"
  | "malformed"
  | "unknown_key"
  | "expired"
  | "not_yet_valid"
  | "window_too_long"
  | "mismatch";

/** Base64 SHA-256 of the canonical {header, message} in `form` (default `"python"`, as the server signs). */
export function envelopeDigest(
  envelope: Signable,
  form: CanonicalForm = "python",
): Promise<string> {
  return sha256Base64(
    canonicalJson({ header: envelope.header, message: envelope.message }, form),
  );
}

/** Signs `{header, message}` now (or at `nowMs`) for `ttlSeconds` (≤ 300, default 300); returns the signature string. */
export async function signEnvelope(
  envelope: Signable,
  key: Pick<SenderKey, "kid" | "alg" | "privateKey">,
  options: { nowMs?: number; ttlSeconds?: number; form?: CanonicalForm } = {},
): Promise<string> {
  const created = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const expires = created +
    Math.min(
      options.ttlSeconds ?? MAX_SIGNATURE_WINDOW_S,
      MAX_SIGNATURE_WINDOW_S,
    );
  const digest = await envelopeDigest(envelope, options.form ?? "python");
  const sig = await signBytes(
    key.alg,
    key.privateKey,
    signingString(created, expires, digest),
  );
  return `namespace="dci", kidId="${key.kid}", algorithm="${key.alg}", created="${created}", ` +
    `expires="${expires}", headers="(created) (expires) digest", signature="${toBase64(sig)}"`;
}

/** Returns the envelope with its `signature` set (see signEnvelope). */
export async function signedEnvelope<T extends Signable>(
  envelope: T,
  key: Pick<SenderKey, "kid" | "alg" | "privateKey">,
  options: { nowMs?: number; ttlSeconds?: number; form?: CanonicalForm } = {},
): Promise<T & { signature: string }> {
  return { ...envelope, signature: await signEnvelope(envelope, key, options) };
}

/** Parses a DCI signature string (`name="value"` or `name=value` parameters, comma separated). */
export function parseSignature(value: string): SignatureParams | undefined {
  const fields = new Map<string, string>();
  const re = /\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^\s,"]+))\s*(,|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < value.length && (m = re.exec(value)) !== null) {
    fields.set(m[1], m[2] ?? m[3]);
  }
  if (re.lastIndex !== value.length || fields.size === 0) return undefined;
  const kid = fields.get("kidId") ?? fields.get("keyId") ?? "";
  const parts = parseKid(kid);
  const alg = normaliseAlg(fields.get("algorithm") ?? parts?.alg ?? "");
  const created = Number(fields.get("created"));
  const expires = Number(fields.get("expires"));
  const signature = signatureBytes(fields.get("signature") ?? "");
  if (!parts?.senderId || !parts.keyId || !alg || !signature) return undefined;
  if (!Number.isSafeInteger(created) || !Number.isSafeInteger(expires)) {
    return undefined;
  }
  return {
    senderId: parts.senderId,
    keyId: parts.keyId,
    alg,
    kid,
    created,
    expires,
    signature,
  };
}

/** Splits `{sender_id}|{key_id}|{alg}` from the right (a sender id may hold `|`, key ids never do). */
export function parseKid(
  kid: string,
): { senderId: string; keyId: string; alg?: string } | undefined {
  const last = kid.lastIndexOf("|");
  if (last < 0) return undefined;
  const before = last === 0 ? -1 : kid.lastIndexOf("|", last - 1);
  return before < 0 ? { senderId: kid.slice(0, last), keyId: kid.slice(last + 1) } : {
    senderId: kid.slice(0, before),
    keyId: kid.slice(before + 1, last),
    alg: kid.slice(last + 1),
  };
}

function normaliseAlg(name: string): KeyAlg | undefined {
  const n = name.toLowerCase();
  if (n === "ed25519" || n === "eddsa") return "ed25519";
  if (n === "rsa-sha256" || n === "rs256") return "rsa-sha256";
  return undefined;
}

/** Finds the public key a signature names (its full kid, e.g. a JWKS lookup). */
export type ResolveKey = (
  params: SignatureParams,
) => Promise<CryptoKey | undefined> | CryptoKey | undefined;

/**
 * Verifies an envelope's signature string over both canonical forms (Python's ASCII-escaped, then JCS) and, when
 * `sourceText` (the JSON the envelope was parsed from) holds numbers JSON.stringify writes differently, over the
 * numbers as written. Time rules as the server's: not expired, created at most 60 s ahead, window ≤ `maxWindowS`.
 */
export async function verifyEnvelope(
  envelope: Signable & { signature?: unknown },
  options: {
    resolveKey: ResolveKey;
    nowMs?: number;
    sourceText?: string;
    maxWindowS?: number;
  },
): Promise<
  { ok: true; params: SignatureParams } | {
    ok: false;
    reason: SignatureFailure;
  }
> {
  if (
    typeof envelope.signature !== "string" || envelope.signature.trim() === ""
  ) {
    return { ok: false, reason: "missing" };
  }
  const p = parseSignature(envelope.signature);
  if (!p) return { ok: false, reason: "malformed" };
  const now = Math.floor((options.nowMs ?? Date.now()) / 1000);
  if (
    p.expires < p.created ||
    p.expires - p.created > (options.maxWindowS ?? MAX_SIGNATURE_WINDOW_S)
  ) {
    return { ok: false, reason: "window_too_long" };
  }
  if (now > p.expires) return { ok: false, reason: "expired" };
  if (p.created > now + SIGNATURE_SKEW_S) {
    return { ok: false, reason: "not_yet_valid" };
  }
  const key = await options.resolveKey(p);
  if (!key) return { ok: false, reason: "unknown_key" };
  const matches = async (json: string) =>
    verifyBytes(
      p.alg,
      key,
      p.signature,
      signingString(p.created, p.expires, await sha256Base64(json)),
    );
  for (
    const json of canonicalForms({
      header: envelope.header,
      message: envelope.message,
    })
  ) {
    if (await matches(json)) return { ok: true, params: p };
  }
  let literal: Partial<Signable> | undefined;
  try {
    literal = options.sourceText === undefined ? undefined : parseKeepingNumberLiterals(options.sourceText) as
      | Partial<Signable>
      | undefined;
  } catch {
    literal = undefined; // not JSON after all: nothing else to try
  }
  for (
    const json of literal ? canonicalForms({ header: literal.header, message: literal.message }) : []
  ) {
    if (await matches(json)) return { ok: true, params: p };
  }
  return { ok: false, reason: "mismatch" };
}

function signingString(
  created: number,
  expires: number,
  digest: string,
): Uint8Array {
  return utf8(
    `(created): ${created}\n(expires): ${expires}\ndigest: ${digest}`,
  );
}
