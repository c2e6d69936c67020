/**
 * Which signature a request carries and whether it verifies: the DCI envelope signature (body) or an
 * RFC 9421 HTTP message signature with an RFC 9530 Content-Digest. Policy: required | optional | off, per
 * sender (DCI_SIGNATURE_POLICY by default); a test sender's placeholder (DCI_TEST_SIGNATURE_PLACEHOLDERS) is no
 * signature; the window (expires − created) is the sender's maximum.
 */
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import {
  type Signable,
  SIGNATURE_SKEW_S,
  type SignatureFailure,
  signatureWindowS,
  verifyEnvelope,
} from "./envelope_signature.ts";
import {
  checkContentDigest,
  parseSignatureHeader,
  parseSignatureInput,
  signatureBase,
  type SignedRequest,
  verifyHttpSignature,
} from "./http_signature.ts";
import { type SenderKeySet, senderKeySet } from "../senders/keys.ts";
import { keysAfterRefetch } from "../senders/jwks_fetch.ts";
import type { KeyAlg } from "../keys/server_keys.ts";
import { MAX_SIGNATURE_HEADER } from "../dci/limits.ts";
import type { SignaturePolicy } from "../senders/settings.ts";

/** The sender a request speaks for, as the bearer check read it. */
export interface SignatureSender {
  senderId: string;
  keysStamp: string;
  /** The sender's own signature validity maximum in seconds (null or absent: the default, 300 s). */
  maxSignatureWindowS?: number | null;
  /** The sender's signature policy (absent: DCI_SIGNATURE_POLICY). */
  signaturePolicy?: SignaturePolicy;
  /** A test sender: a configured placeholder (DCI_TEST_SIGNATURE_PLACEHOLDERS) counts as no signature. */
  testMode?: boolean;
}

/** The request as the signature check needs it. */
export interface SignatureSubject {
  envelope: Signable & { signature?: unknown };
  request: SignedRequest;
  /** The body as text, the envelope parsed from it (its bytes for Content-Digest, its number literals). */
  text: string;
}

/** The key a signature verified with; `namedKeyId` is set when the kidId named another, unregistered id. */
export interface VerifiedBy {
  keyId: string;
  namedKeyId?: string;
}

/** Verifies the request's signature per policy; returns the key used (undefined when none was checked). */
export async function checkSignature(
  deps: Deps,
  subject: SignatureSubject,
  sender: SignatureSender,
): Promise<VerifiedBy | undefined> {
  const policy = sender.signaturePolicy ?? deps.config.signaturePolicy;
  if (policy === "off") return undefined;
  const maxWindowS = signatureWindowS(sender.maxSignatureWindowS);
  const hasHttpSig = subject.request.headers.has("signature-input") ||
    subject.request.headers.has("signature");
  if (hasHttpSig) return { keyId: await checkHttpSignature(deps, subject, sender, maxWindowS) };
  const value = subject.envelope.signature;
  // A test sender's placeholder counts as no signature; any other value is verified like anyone's.
  const placeholder = sender.testMode === true && typeof value === "string" &&
    deps.config.testSignaturePlaceholders.includes(value);
  const present = !placeholder && typeof value === "string" && value.trim() !== "";
  if (!present && policy === "optional") return undefined;
  if (placeholder) {
    throw new DciError(
      "err.signature.missing",
      `The envelope's signature is the test placeholder ${
        JSON.stringify(value)
      } (no signature) and the policy requires one`,
    );
  }
  let keys = await senderKeySet(deps, sender.senderId, sender.keysStamp);
  let check = verifyWith(keys, subject, sender.senderId, { nowMs: deps.clock.now(), maxWindowS });
  // A key id the sender does not have may be a partner's new key: its JWKS is fetched again (at most once a
  // minute) and the signature checked against the keys it holds now, the fallback to a sole key included.
  if (!check.result.ok && check.unknownKeyId !== undefined) {
    const fetched = await keysAfterRefetch(deps, sender.senderId, check.unknownKeyId);
    if (fetched) {
      keys = fetched;
      check = verifyWith(keys, subject, sender.senderId, { nowMs: deps.clock.now(), maxWindowS });
    }
  }
  if (!check.result.ok) throw failure(check.result.failure, sender.senderId, keys);
  return check.used;
}

/**
 * The envelope signature checked against `keys`: the key named in kidId, else the sender's sole key of the
 * signature's algorithm. `unknownKeyId`: the kidId named a key id of the sender that `keys` lacks.
 */
function verifyWith(
  keys: SenderKeySet,
  subject: SignatureSubject,
  senderId: string,
  options: { nowMs: number; maxWindowS: number },
): { result: ReturnType<typeof verifyEnvelope>; used?: VerifiedBy; unknownKeyId?: string } {
  let used: VerifiedBy | undefined;
  let unknownKeyId: string | undefined;
  const result = verifyEnvelope(subject.envelope, {
    nowMs: options.nowMs,
    sourceText: subject.text,
    maxWindowS: options.maxWindowS,
    resolveKey: (kidSenderId, keyId, alg) => {
      if (kidSenderId !== senderId) return undefined;
      const named = keys.get(keyId);
      if (named) {
        used = { keyId };
        return named.alg === alg ? named.key : undefined;
      }
      unknownKeyId = keyId;
      const sole = soleKey(keys, alg);
      if (sole) used = { keyId: sole, namedKeyId: keyId };
      return sole ? keys.get(sole)!.key : undefined;
    },
  });
  return { result, used, unknownKeyId };
}

/**
 * The signature of a streamed upload (a bulk search file), checked before its body is read: an RFC 9421 signature
 * covering `content-digest` (the caller compares the body with it as it arrives), per the sender's policy; an
 * upload has no envelope, so without one a `required` policy refuses it.
 */
export async function checkUploadSignature(
  deps: Deps,
  request: SignedRequest,
  sender: SignatureSender,
): Promise<VerifiedBy | undefined> {
  const policy = sender.signaturePolicy ?? deps.config.signaturePolicy;
  if (policy === "off") return undefined;
  if (request.headers.has("signature-input") || request.headers.has("signature")) {
    if (!/(^|,)\s*sha-(256|512)=:/.test(request.headers.get("content-digest") ?? "")) {
      throw invalid("an upload needs a Content-Digest with sha-256 or sha-512");
    }
    const maxWindowS = signatureWindowS(sender.maxSignatureWindowS);
    return { keyId: await checkHttpSignature(deps, { request }, sender, maxWindowS) };
  }
  if (policy === "optional") return undefined;
  throw new DciError(
    "err.signature.missing",
    "A bulk search upload must carry an RFC 9421 HTTP message signature (Signature-Input, Signature) " +
      "covering @method, @path or @target-uri, and content-digest",
  );
}

/**
 * The id of the sender's only active key of `alg`, if it has exactly one. OpenSPP's verifier ignores kidId, so
 * its partners may name a key id we never registered; with one candidate key there is nothing to choose.
 */
function soleKey(keys: SenderKeySet, alg: KeyAlg): string | undefined {
  let found: string | undefined;
  for (const [id, k] of keys) {
    if (k.alg !== alg) continue;
    if (found !== undefined) return undefined;
    found = id;
  }
  return found;
}

function failure(f: SignatureFailure, senderId: string, keys: SenderKeySet): DciError {
  switch (f.reason) {
    case "missing":
      return new DciError(
        "err.signature.missing",
        "The envelope has no signature and the policy requires one",
      );
    case "malformed":
      return new DciError("err.signature.invalid", `Signature is malformed: ${f.detail}`);
    case "unknown_key":
      return new DciError(
        "err.signature.invalid",
        f.senderId === senderId
          ? `Cannot verify signature: key "${f.keyId}" of sender "${senderId}" is unknown` +
            (keys.has(f.keyId)
              ? ` for ${f.alg}`
              : ` and the sender has no single active ${f.alg} key to verify with instead`)
          : `Cannot verify signature: kidId names sender "${f.senderId}", not header.sender_id "${senderId}"`,
      );
    case "expired":
      return new DciError("err.signature.invalid", "Signature has expired");
    case "not_yet_valid":
      return new DciError("err.signature.invalid", "Signature created time is in the future");
    case "window_too_long":
      return new DciError(
        "err.signature.invalid",
        `Signature window (expires - created) exceeds the ${f.maxS} s allowed for sender "${senderId}"`,
      );
    case "mismatch":
      return new DciError("err.signature.invalid", "Signature does not match the header and message");
  }
}

function invalid(message: string): DciError {
  return new DciError("err.signature.invalid", `HTTP message signature: ${message}`);
}

async function checkHttpSignature(
  deps: Deps,
  subject: Pick<SignatureSubject, "request"> & { text?: string },
  sender: SignatureSender,
  maxWindowS: number,
): Promise<string> {
  const h = subject.request.headers;
  for (const name of ["signature-input", "signature", "content-digest"]) {
    if ((h.get(name)?.length ?? 0) > MAX_SIGNATURE_HEADER) {
      throw invalid(`${name} is longer than ${MAX_SIGNATURE_HEADER} characters`);
    }
  }
  const inputs = parseSignatureInput(h.get("signature-input") ?? "");
  const sigs = parseSignatureHeader(h.get("signature") ?? "");
  if (!inputs || !sigs) throw invalid("Signature-Input or Signature is malformed");
  const input = inputs.find((i) => sigs.has(i.label));
  if (!input) throw invalid("no Signature matches a Signature-Input label");
  const covered = new Set(input.components);
  // Each component once (RFC 9421 §2.5): else one large header named over and over builds a base of hundreds of MB.
  if (covered.size !== input.components.length) throw invalid("a component is covered more than once");
  if (!covered.has("@method") || !(covered.has("@target-uri") || covered.has("@path"))) {
    throw invalid("must cover @method and @target-uri or @path");
  }
  if (!covered.has("content-digest")) throw invalid("must cover content-digest");
  // An upload's body is checked against its Content-Digest as it streams in (src/transactions/bulk_upload.ts).
  const now = Math.floor(deps.clock.now() / 1000);
  const created = input.params.created;
  if (typeof created !== "number") throw invalid("created is required");
  if (created > now + SIGNATURE_SKEW_S) throw invalid("created is in the future");
  if (now - created > maxWindowS) throw invalid("signature is too old");
  const expires = input.params.expires;
  // An sf-integer (RFC 9421 §2.3), as created is: a quoted one would otherwise be passed over unread.
  if (expires !== undefined && typeof expires !== "number") throw invalid("expires must be an integer");
  if (expires !== undefined && now > expires) throw invalid("signature has expired");
  // After the cheap checks: hashing the body is the first costly step.
  if (
    subject.text !== undefined &&
    !checkContentDigest(h.get("content-digest") ?? "", new TextEncoder().encode(subject.text))
  ) {
    throw invalid("Content-Digest does not match the body");
  }
  const keyId = String(input.params.keyid ?? "");
  // A key id the sender does not have may be a partner's new key: its JWKS is fetched again (at most once a minute).
  const key = (await senderKeySet(deps, sender.senderId, sender.keysStamp)).get(keyId) ??
    (await keysAfterRefetch(deps, sender.senderId, keyId))?.get(keyId);
  if (!key) throw invalid(`key "${keyId}" of sender "${sender.senderId}" is unknown`);
  let base: string;
  try {
    base = signatureBase(subject.request, input.components, input.raw);
  } catch (err) {
    throw invalid((err as Error).message);
  }
  const alg = typeof input.params.alg === "string" ? input.params.alg : undefined;
  let ok = false;
  try {
    ok = verifyHttpSignature(base, sigs.get(input.label)!, key.key, alg);
  } catch (err) {
    throw invalid((err as Error).message);
  }
  if (!ok) throw invalid("signature does not verify");
  return keyId;
}
