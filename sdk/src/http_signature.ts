/**
 * RFC 9421 HTTP message signatures for requests, with an RFC 9530 Content-Digest, as the server verifies them: the
 * signature covers at least `@method`, `@target-uri` (or `@path`) and `content-digest`; `keyid` is the sender's
 * key id (not the kid); algorithms `ed25519` and `rsa-v1_5-sha256`.
 */
import { toBase64, utf8 } from "./encoding.ts";
import { type SenderKey, signBytes } from "./keys.ts";

/** The parts of a request a signature covers. */
export interface RequestParts {
  method: string;
  url: string;
  headers?: HeadersInit;
  body: string | Uint8Array;
}

/** The RFC 9530 Content-Digest value (sha-256) of a body. */
export async function contentDigest(
  body: string | Uint8Array,
): Promise<string> {
  const bytes = typeof body === "string" ? utf8(body) : body;
  const hash = new Uint8Array(
    await crypto.subtle.digest("SHA-256", bytes as BufferSource),
  );
  return `sha-256=:${toBase64(hash)}:`;
}

/** The components signed unless the caller names others. */
export const DEFAULT_COMPONENTS = ["@method", "@target-uri", "content-digest"];

/** The value of one covered component (RFC 9421 §2): a derived `@` component or a header field, trimmed. */
export function componentValue(
  method: string,
  url: URL,
  headers: Headers,
  name: string,
): string {
  switch (name) {
    case "@method":
      return method.toUpperCase();
    case "@target-uri":
      return url.href;
    case "@authority":
      return url.host.toLowerCase();
    case "@scheme":
      return url.protocol.slice(0, -1).toLowerCase();
    case "@request-target":
      return url.pathname + url.search;
    case "@path":
      return url.pathname;
    case "@query":
      return url.search === "" ? "?" : url.search;
  }
  if (name.startsWith("@")) {
    throw new TypeError(`component "${name}" is not supported`);
  }
  const v = headers.get(name);
  if (v === null) throw new TypeError(`covered header "${name}" is missing`);
  return v.trim();
}

/**
 * Returns the request's headers with Content-Digest, Signature-Input and Signature added, signed at `nowMs`
 * (default now). The server accepts a signature for the sender's window (300 s by default) after `created`.
 */
export async function signRequest(
  request: RequestParts,
  key: Pick<SenderKey, "keyId" | "alg" | "privateKey">,
  options: {
    components?: string[];
    nowMs?: number;
    expiresInSeconds?: number;
    label?: string;
    /** Whether to name the algorithm in an `alg` parameter (default true; the server reads it from the key). */
    alg?: boolean;
  } = {},
): Promise<Headers> {
  const headers = new Headers(request.headers);
  headers.set("content-digest", await contentDigest(request.body));
  const components = options.components ?? DEFAULT_COMPONENTS;
  const created = Math.floor((options.nowMs ?? Date.now()) / 1000);
  const alg = key.alg === "ed25519" ? "ed25519" : "rsa-v1_5-sha256";
  const expires = options.expiresInSeconds === undefined
    ? ""
    : `;expires=${created + options.expiresInSeconds}`;
  const params = `(${components.map((c) => `"${c}"`).join(" ")});created=${created}${expires}` +
    `;keyid="${key.keyId}"${options.alg === false ? "" : `;alg="${alg}"`}`;
  const url = new URL(request.url);
  const lines = components.map((c) => `"${c}": ${componentValue(request.method, url, headers, c)}`);
  lines.push(`"@signature-params": ${params}`);
  const signature = await signBytes(
    key.alg,
    key.privateKey,
    utf8(lines.join("\n")),
  );
  const label = options.label ?? "sig1";
  headers.set("signature-input", `${label}=${params}`);
  headers.set("signature", `${label}=:${toBase64(signature)}:`);
  return headers;
}
