/**
 * RFC 9421 HTTP message signatures (verification and, for tests and clients, signing) and RFC 9530
 * Content-Digest. Only what request verification needs: derived components, plain header fields, the
 * ed25519, rsa-v1_5-sha256 and rsa-pss-sha512 algorithms.
 */
import { constants, createHash, type KeyObject, sign, timingSafeEqual, verify } from "node:crypto";
import { Buffer } from "node:buffer";
// The sender SDK's component values (it imports nothing of the server): what a sender signs is what we rebuild.
import { componentValue } from "../../sdk/src/http_signature.ts";

/** The parts of a request a signature covers. */
export interface SignedRequest {
  method: string;
  url: string;
  headers: Headers;
}

/** One parsed Signature-Input member. */
export interface SignatureInput {
  label: string;
  components: string[];
  params: Record<string, string | number>;
  /** The serialised inner list with parameters, exactly as received (the `@signature-params` value). */
  raw: string;
}

/** Parses a Signature-Input dictionary (RFC 8941 subset: inner lists of strings with parameters). */
export function parseSignatureInput(value: string): SignatureInput[] | undefined {
  const out: SignatureInput[] = [];
  const re =
    /\s*([a-z*][a-z0-9_.*-]*)=(\((?:\s*"[^"]*")*\s*\)((?:;[a-z*][a-z0-9_.*-]*=(?:"[^"]*"|-?\d+))*))\s*(,|$)/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < value.length && (m = re.exec(value)) !== null) {
    const inner = m[2].slice(0, m[2].indexOf(")") + 1);
    const components = [...inner.matchAll(/"([^"]*)"/g)].map((x) => x[1]);
    const params: Record<string, string | number> = {};
    for (const p of m[3].matchAll(/;([a-z*][a-z0-9_.*-]*)=("([^"]*)"|-?\d+)/g)) {
      params[p[1]] = p[3] !== undefined ? p[3] : Number(p[2]);
    }
    out.push({ label: m[1], components, params, raw: m[2] });
    if (m[4] === "") break;
  }
  if (re.lastIndex !== value.length && value.slice(re.lastIndex).trim() !== "") return undefined;
  return out.length ? out : undefined;
}

/** Parses a Signature dictionary: label → signature bytes. */
export function parseSignatureHeader(value: string): Map<string, Uint8Array> | undefined {
  const out = new Map<string, Uint8Array>();
  for (const part of value.split(",")) {
    const m = /^\s*([a-z*][a-z0-9_.*-]*)=:([A-Za-z0-9+/]*={0,2}):\s*$/.exec(part);
    if (!m) return undefined;
    out.set(m[1], new Uint8Array(Buffer.from(m[2], "base64")));
  }
  return out;
}

/** The RFC 9421 signature base for covered components and the serialised signature parameters. */
export function signatureBase(req: SignedRequest, components: string[], paramsRaw: string): string {
  const url = new URL(req.url);
  const lines = components.map((c) => `"${c}": ${componentValue(req.method, url, req.headers, c)}`);
  lines.push(`"@signature-params": ${paramsRaw}`);
  return lines.join("\n");
}

/** Our name for the algorithm a key and an `alg` parameter call for. */
export function httpSigAlg(key: KeyObject, alg?: string): "ed25519" | "rsa-v1_5-sha256" | "rsa-pss-sha512" {
  if (key.asymmetricKeyType === "ed25519") {
    if (alg && alg !== "ed25519") throw new Error(`alg "${alg}" does not fit an Ed25519 key`);
    return "ed25519";
  }
  if (alg === "rsa-pss-sha512" || key.asymmetricKeyType === "rsa-pss") return "rsa-pss-sha512";
  if (!alg || alg === "rsa-v1_5-sha256") return "rsa-v1_5-sha256";
  throw new Error(`alg "${alg}" is not supported`);
}

function keyInput(key: KeyObject, alg: ReturnType<typeof httpSigAlg>) {
  return alg === "rsa-pss-sha512" ? { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 64 } : key;
}

/** Verifies `signature` over the base with the key (algorithm from the key and the `alg` parameter). */
export function verifyHttpSignature(
  base: string,
  signature: Uint8Array,
  key: KeyObject,
  alg?: string,
): boolean {
  const a = httpSigAlg(key, alg);
  const hash = a === "ed25519" ? null : a === "rsa-pss-sha512" ? "sha512" : "sha256";
  try {
    return verify(hash, Buffer.from(base), keyInput(key, a), signature);
  } catch {
    return false;
  }
}

/** Signs a request: returns the Signature-Input and Signature header values for `label`. */
export function signHttpRequest(
  req: SignedRequest,
  key: KeyObject,
  options: { keyId: string; components: string[]; created: number; label?: string; alg?: string },
): { signatureInput: string; signature: string } {
  const label = options.label ?? "sig1";
  const algParam = options.alg ? `;alg="${options.alg}"` : "";
  const raw = `(${
    options.components.map((c) => `"${c}"`).join(" ")
  });created=${options.created};keyid="${options.keyId}"${algParam}`;
  const base = signatureBase(req, options.components, raw);
  const a = httpSigAlg(key, options.alg);
  const sig = sign(
    a === "ed25519" ? null : a === "rsa-pss-sha512" ? "sha512" : "sha256",
    Buffer.from(base),
    keyInput(key, a),
  );
  return {
    signatureInput: `${label}=${raw}`,
    signature: `${label}=:${Buffer.from(sig).toString("base64")}:`,
  };
}

/** The RFC 9530 Content-Digest value (sha-256) of a body. */
export function contentDigest(body: Uint8Array | string): string {
  return `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;
}

/**
 * Checks a Content-Digest header against the body: at least one sha-256/sha-512 and every one given matches. An
 * algorithm named twice refuses the header (a dictionary has each key once, RFC 8941 §3.2): else each copy of
 * the digest would hash the whole body again.
 */
export function checkContentDigest(header: string, body: Uint8Array): boolean {
  let checked = 0;
  const named = new Set<string>();
  for (const part of header.split(",")) {
    const m = /^\s*(sha-256|sha-512|[a-z0-9-]+)=:([A-Za-z0-9+/]*={0,2}):\s*$/.exec(part);
    if (!m || named.has(m[1])) return false;
    named.add(m[1]);
    if (m[1] !== "sha-256" && m[1] !== "sha-512") continue;
    const want = Buffer.from(m[2], "base64");
    const got = createHash(m[1] === "sha-256" ? "sha256" : "sha512").update(body).digest();
    if (want.length !== got.length || !timingSafeEqual(want, got)) return false;
    checked++;
  }
  return checked > 0;
}
