/** Importing a sender's private key and the server's public keys into WebCrypto. */
import { fromBase64, pemToDer, pkcs1ToPkcs8 } from "./encoding.ts";

/** The signature algorithms, as DCI names them. */
export type KeyAlg = "ed25519" | "rsa-sha256";

/** A sender's signing key: `kid` is the server's `{sender_id}|{key_id}|{alg}` form. */
export interface SenderKey {
  senderId: string;
  keyId: string;
  alg: KeyAlg;
  kid: string;
  privateKey: CryptoKey;
}

/** The WebCrypto import and sign parameters of each algorithm. */
export const WEBCRYPTO: Record<KeyAlg, RsaHashedImportParams | Algorithm> = {
  ed25519: { name: "Ed25519" },
  "rsa-sha256": { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
};

/** Signs bytes with a private key of `alg`. */
export async function signBytes(
  alg: KeyAlg,
  key: CryptoKey,
  data: Uint8Array,
): Promise<Uint8Array> {
  return new Uint8Array(
    await crypto.subtle.sign(WEBCRYPTO[alg].name, key, data as BufferSource),
  );
}

/** Verifies a signature over bytes with a public key of `alg`; false (never a throw) on any mismatch. */
export async function verifyBytes(
  alg: KeyAlg,
  key: CryptoKey,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean> {
  try {
    return await crypto.subtle.verify(
      WEBCRYPTO[alg].name,
      key,
      signature as BufferSource,
      data as BufferSource,
    );
  } catch {
    return false;
  }
}

// 06 03 2b 65 70: the Ed25519 OID (1.3.101.112) near the start of its PKCS#8 and SPKI encodings.
function isEd25519Der(der: Uint8Array): boolean {
  for (let i = 0; i + 4 < Math.min(der.length, 24); i++) {
    if (
      der[i] === 0x06 && der[i + 1] === 3 && der[i + 2] === 0x2b &&
      der[i + 3] === 0x65 && der[i + 4] === 0x70
    ) {
      return true;
    }
  }
  return false;
}

/**
 * Imports a private key: PEM (`PRIVATE KEY` PKCS#8 as `openssl genpkey` writes, or `RSA PRIVATE KEY` PKCS#1) or a
 * private JWK (OKP Ed25519 or RSA). The algorithm comes from the key.
 */
export async function importPrivateKey(
  material: string | JsonWebKey,
): Promise<{ alg: KeyAlg; key: CryptoKey }> {
  if (typeof material !== "string") {
    const alg: KeyAlg = material.kty === "OKP" ? "ed25519" : "rsa-sha256";
    const { alg: _a, key_ops: _o, use: _u, ...jwk } = material;
    return {
      alg,
      key: await crypto.subtle.importKey("jwk", jwk, WEBCRYPTO[alg], false, [
        "sign",
      ]),
    };
  }
  const { label, der } = pemToDer(material);
  if (label === "ENCRYPTED PRIVATE KEY") {
    throw new TypeError("decrypt the key first (openssl pkey -in … -out …)");
  }
  if (label !== "PRIVATE KEY" && label !== "RSA PRIVATE KEY") {
    throw new TypeError(`a "${label}" PEM block is not a private key`);
  }
  const pkcs8 = label === "RSA PRIVATE KEY" ? pkcs1ToPkcs8(der) : der;
  const alg: KeyAlg = isEd25519Der(pkcs8) ? "ed25519" : "rsa-sha256";
  return {
    alg,
    key: await crypto.subtle.importKey(
      "pkcs8",
      pkcs8 as BufferSource,
      WEBCRYPTO[alg],
      false,
      ["sign"],
    ),
  };
}

/** A sender's signing key from its private key material (see importPrivateKey). */
export async function senderKey(
  senderId: string,
  keyId: string,
  material: string | JsonWebKey,
): Promise<SenderKey> {
  const { alg, key } = await importPrivateKey(material);
  return {
    senderId,
    keyId,
    alg,
    kid: `${senderId}|${keyId}|${alg}`,
    privateKey: key,
  };
}

/** Imports a public key: a JWK (as the server's JWKS publishes) or an SPKI PEM (`PUBLIC KEY`). */
export async function importPublicKey(
  material: string | JsonWebKey,
): Promise<{ alg: KeyAlg; key: CryptoKey }> {
  if (typeof material !== "string") {
    const alg: KeyAlg = material.kty === "OKP" ? "ed25519" : "rsa-sha256";
    if (alg === "ed25519" && material.crv !== "Ed25519") {
      throw new TypeError(`curve "${material.crv}" is not Ed25519`);
    }
    // Only the key itself: runtimes disagree on which `alg` an Ed25519 JWK may carry ("EdDSA", "Ed25519").
    const jwk = alg === "ed25519"
      ? { kty: "OKP", crv: "Ed25519", x: material.x }
      : { kty: "RSA", n: material.n, e: material.e };
    return {
      alg,
      key: await crypto.subtle.importKey("jwk", jwk, WEBCRYPTO[alg], true, [
        "verify",
      ]),
    };
  }
  const { label, der } = pemToDer(material);
  if (label !== "PUBLIC KEY") {
    throw new TypeError(`a "${label}" PEM block is not an SPKI public key`);
  }
  const alg: KeyAlg = isEd25519Der(der) ? "ed25519" : "rsa-sha256";
  return {
    alg,
    key: await crypto.subtle.importKey(
      "spki",
      der as BufferSource,
      WEBCRYPTO[alg],
      true,
      ["verify"],
    ),
  };
}

/** Bytes of a base64 value in a signature, or undefined when it is not base64. */
export function signatureBytes(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return undefined;
  try {
    return fromBase64(text);
  } catch {
    return undefined;
  }
}
