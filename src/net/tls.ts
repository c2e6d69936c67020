/**
 * The TLS certificate and key of the HTTP listeners (DCI_TLS_CERT / DCI_TLS_KEY): read from their PEM files and
 * checked before use, at start and on each SIGHUP, so that a bad file is reported with its name and never
 * reaches a listener (a reload with a bad pair keeps the old one serving).
 */
import { createPrivateKey, X509Certificate } from "node:crypto";

/** A certificate chain and its private key, both PEM, ready for `Deno.serve({ cert, key })`. */
export interface TlsPair {
  cert: string;
  key: string;
  /** The leaf certificate's subject and serial, for the log line of a (re)load. */
  subject: string;
  serial: string;
  /** The leaf certificate's end of validity (ISO 8601). */
  notAfter: string;
}

/** Thrown when the certificate or key cannot be used; the message names the file and the cause. */
export class TlsFileError extends Error {}

/** Private key types rustls serves. */
const SERVABLE_KEY_TYPES = ["rsa", "ec", "ed25519"];

/** Largest PEM file read: a long chain is a few tens of KB; anything bigger is not a certificate file. */
const MAX_PEM_BYTES = 1024 * 1024;

/** Reads and checks the pair: both files readable, PEM, the certificate parses and the key is its key. */
export async function loadTlsPair(certPath: string, keyPath: string): Promise<TlsPair> {
  const cert = await readPem(certPath, "DCI_TLS_CERT");
  const key = await readPem(keyPath, "DCI_TLS_KEY");
  if (!/-----BEGIN CERTIFICATE-----/.test(cert)) {
    throw new TlsFileError(`DCI_TLS_CERT ${certPath}: not a PEM certificate (no BEGIN CERTIFICATE block)`);
  }
  if (!/-----BEGIN (RSA |EC |ENCRYPTED )?PRIVATE KEY-----/.test(key)) {
    throw new TlsFileError(`DCI_TLS_KEY ${keyPath}: not a PEM private key (no BEGIN PRIVATE KEY block)`);
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(key)) {
    throw new TlsFileError(
      `DCI_TLS_KEY ${keyPath}: the key is encrypted; give the server an unencrypted key`,
    );
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw new TlsFileError(`DCI_TLS_CERT ${certPath}: the certificate does not parse (${message(err)})`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new TlsFileError(`DCI_TLS_KEY ${keyPath}: the private key does not parse (${message(err)})`);
  }
  // What Deno's TLS (rustls) can serve with; node:crypto parses more (DSA), which Deno.serve would then refuse.
  if (!SERVABLE_KEY_TYPES.includes(privateKey.asymmetricKeyType ?? "")) {
    throw new TlsFileError(
      `DCI_TLS_KEY ${keyPath}: a ${privateKey.asymmetricKeyType} key cannot be served; use RSA, ECDSA or Ed25519`,
    );
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new TlsFileError(
      `DCI_TLS_KEY ${keyPath} is not the private key of the certificate in DCI_TLS_CERT ${certPath}`,
    );
  }
  return {
    cert,
    key,
    subject: leaf.subject,
    serial: leaf.serialNumber,
    notAfter: new Date(leaf.validTo).toISOString(),
  };
}

async function readPem(path: string, setting: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    const info = await Deno.stat(path);
    if (!info.isFile) throw new Error("not a regular file");
    if (info.size > MAX_PEM_BYTES) throw new Error(`larger than ${MAX_PEM_BYTES} bytes`);
    bytes = await Deno.readFile(path);
  } catch (err) {
    throw new TlsFileError(`${setting} ${path}: cannot read the file (${message(err)})`);
  }
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new TlsFileError(`${setting} ${path}: not a PEM file (not text)`);
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
