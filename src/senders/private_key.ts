/**
 * The check that keeps a sender's private key out of the server: `sender key add` and the admin API's
 * POST /senders/{id}/keys (and a fetched JWKS) go through `parsePublicKey`, which asks this first. A private
 * key given by mistake is refused whole, and the refusal never repeats any of its material.
 */
import { Buffer } from "node:buffer";
import { createPrivateKey } from "node:crypto";

/** JWK members only a private (or symmetric) key has (RFC 7518 §6.2.2, §6.3.2, §6.4.1). */
const PRIVATE_JWK_MEMBERS = ["d", "p", "q", "dp", "dq", "qi", "oth", "k"];

/** The largest text tried as base64 DER (a PKCS#8 RSA-4096 key is about 3.3 kB of base64). */
const MAX_DER_TEXT = 16_384;

/** What kind of private key `material` is ("a PEM private key", ...), or undefined for anything else. */
export function privateKeyKind(material: string | Record<string, unknown>): string | undefined {
  if (typeof material !== "string") return privateJwkKind(material);
  const text = material.trim();
  if (/-----BEGIN OPENSSH PRIVATE KEY-----/.test(text)) return "an OpenSSH private key";
  if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) return "a PEM private key";
  if (/^PuTTY-User-Key-File-/m.test(text)) return "a PuTTY private key";
  if (text.startsWith("{")) {
    try {
      return privateJwkKind(JSON.parse(text));
    } catch {
      return undefined; // not JSON: parsePublicKey says so, without quoting it
    }
  }
  return privateDerKind(text);
}

/** A private JWK, or a JWK set holding one. */
function privateJwkKind(jwk: unknown): string | undefined {
  if (typeof jwk !== "object" || jwk === null || Array.isArray(jwk)) return undefined;
  const keys = (jwk as { keys?: unknown }).keys;
  if (Array.isArray(keys)) {
    return keys.some((k) => privateJwkKind(k)) ? "a JWK set holding a private key" : undefined;
  }
  const member = PRIVATE_JWK_MEMBERS.find((m) => Object.hasOwn(jwk, m));
  return member ? `a private JWK (it has "${member}")` : undefined;
}

/** Bare base64 of a PKCS#8 or PKCS#1 private key (a PEM body without its armour lines). */
function privateDerKind(text: string): string | undefined {
  if (text.length > MAX_DER_TEXT || !/^[A-Za-z0-9+/=\s]+$/.test(text)) return undefined;
  const der = Buffer.from(text.replace(/\s+/g, ""), "base64");
  for (const type of ["pkcs8", "pkcs1", "sec1"] as const) {
    try {
      createPrivateKey({ key: der, format: "der", type });
      return "a base64 DER private key";
    } catch { /* not this encoding */ }
  }
  return undefined;
}

/** The refusal operators and partners see: what was given, what to give instead, and that nothing was kept. */
export function privateKeyRefusal(kind: string): string {
  return `refused: this is ${kind}, which must stay with the sender. Give the sender's public key instead ` +
    '(PEM SPKI, e.g. `openssl pkey -in key.pem -pubout`, or a JWK without "d"); nothing was stored';
}
