/**
 * dci-sdk: build, sign and verify DCI envelopes and RFC 9421 requests, get OAuth2 client-credentials tokens and
 * verify a DCI server's signed answers against its JWKS. No dependencies: WebCrypto and fetch only, so it runs
 * unchanged on Deno and Node ≥ 20 (Node imports the same code built as dist/dci.js).
 *
 *   const key = await senderKey("demo-sender", "k1", await Deno.readTextFile("sender.key"));
 *   const dci = new DciClient({ baseUrl, clientId, clientSecret, key });
 *   const answer = await dci.search([{ query: { type: "UIN", value: "TEST-001" } }]);
 */
/**
 * Canonical JSON for DCI envelope digests: keys sorted by UTF-16 code units, no whitespace, in the two forms the
 * server accepts: RFC 8785 (JCS) strings and Python's `json.dumps(sort_keys=True, separators=(",", ":"))`
 * (ASCII-escaped). Numbers may be kept as written (`5.0`, `1e-07`) with NumberLiteral.
 */
/** The two canonical forms: `"python"` (ASCII-escaped, what the server signs with) and `"jcs"` (RFC 8785). */
export type CanonicalForm = "python" | "jcs";
/**
 * A number kept as its source text (`5.0`, `1e-07`), because a Python signer hashed that text and
 * JSON.stringify would write `5`, `1e-7`. Put one in a message to send a number exactly as written: toJson() and
 * canonicalJson() both write its text.
 */
export declare class NumberLiteral {
  readonly source: string;
  /** `source` must be a JSON number literal. */
  constructor(source: string);
}
/** Serialises `value` with sorted keys and no whitespace, in the given form (default `"python"`). */
export declare function canonicalJson(value: unknown, form?: CanonicalForm): string;
/**
 * The canonical forms a signer may have hashed, Python's first: one entry when the text has nothing to escape,
 * where both are the same bytes.
 */
export declare function canonicalForms(value: unknown): string[];
/**
 * JSON text of `value` as a request body: like JSON.stringify, except that NumberLiterals keep their text (keys
 * are sorted, which any JSON reader accepts).
 */
export declare function toJson(value: unknown): string;
/**
 * Re-reads `text` keeping the source text of every number JSON.stringify would write differently; undefined when
 * there is none or the runtime lacks JSON.parse source text access (Deno, Node ≥ 21 have it; Node 20 does not).
 */
export declare function parseKeepingNumberLiterals(text: string): unknown | undefined;
/** Base64, base64url and PEM/DER helpers over plain Uint8Arrays (no Buffer: the SDK runs on Deno and Node). */
/** Standard base64 of bytes. */
export declare function toBase64(bytes: Uint8Array): string;
/** Bytes of standard base64 or base64url (padding optional); throws on anything else. */
export declare function fromBase64(text: string): Uint8Array;
/** UTF-8 bytes of a string. */
export declare function utf8(text: string): Uint8Array;
/** Base64 SHA-256 of a string's UTF-8 bytes (or of bytes). */
export declare function sha256Base64(data: string | Uint8Array): Promise<string>;
/** The DER bytes and label of the first PEM block in `pem`. */
export declare function pemToDer(pem: string): { label: string; der: Uint8Array };
/**
 * Wraps a PKCS#1 RSAPrivateKey in PKCS#8 (`BEGIN RSA PRIVATE KEY` files, which WebCrypto cannot import):
 * SEQUENCE { INTEGER 0, SEQUENCE { rsaEncryption, NULL }, OCTET STRING { key } }.
 */
export declare function pkcs1ToPkcs8(pkcs1: Uint8Array): Uint8Array;
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
export declare const WEBCRYPTO: Record<KeyAlg, RsaHashedImportParams | Algorithm>;
/** Signs bytes with a private key of `alg`. */
export declare function signBytes(alg: KeyAlg, key: CryptoKey, data: Uint8Array): Promise<Uint8Array>;
/** Verifies a signature over bytes with a public key of `alg`; false (never a throw) on any mismatch. */
export declare function verifyBytes(
  alg: KeyAlg,
  key: CryptoKey,
  signature: Uint8Array,
  data: Uint8Array,
): Promise<boolean>;
/**
 * Imports a private key: PEM (`PRIVATE KEY` PKCS#8 as `openssl genpkey` writes, or `RSA PRIVATE KEY` PKCS#1) or a
 * private JWK (OKP Ed25519 or RSA). The algorithm comes from the key.
 */
export declare function importPrivateKey(
  material: string | JsonWebKey,
): Promise<{ alg: KeyAlg; key: CryptoKey }>;
/** A sender's signing key from its private key material (see importPrivateKey). */
export declare function senderKey(
  senderId: string,
  keyId: string,
  material: string | JsonWebKey,
): Promise<SenderKey>;
/** Imports a public key: a JWK (as the server's JWKS publishes) or an SPKI PEM (`PUBLIC KEY`). */
export declare function importPublicKey(
  material: string | JsonWebKey,
): Promise<{ alg: KeyAlg; key: CryptoKey }>;
/** Bytes of a base64 value in a signature, or undefined when it is not base64. */
export declare function signatureBytes(text: string): Uint8Array | undefined;
/** Building DCI request envelopes `{header, message}` (sign them with signEnvelope). */
/** A DCI request header as the server reads it. */
export interface RequestHeader {
  version: string;
  message_id: string;
  message_ts: string;
  action: string;
  sender_id: string;
  sender_uri?: string;
  receiver_id?: string;
  total_count: number;
  is_msg_encrypted: boolean;
  meta?: Record<string, unknown>;
  [field: string]: unknown;
}
/** A DCI envelope: `signature` is added by signing. */
export interface Envelope<H = RequestHeader, M = Record<string, unknown>> {
  signature?: string;
  header: H;
  message: M;
}
/** What buildEnvelope needs; the rest of the header has defaults. */
export interface EnvelopeOptions {
  senderId: string;
  /** `search`, `subscribe`, `unsubscribe`, `txn-status`, `receipt`, … */
  action: string;
  /** The server's sender id (its DCI_SENDER_ID, e.g. `dci-server`) as `header.receiver_id`; omitted when absent. */
  receiverId?: string;
  /** Where the server sends the answer of an async request. */
  senderUri?: string;
  /** The number of items in the message (search_request, …); counted from the message when absent. */
  totalCount?: number;
  /** A message id to reuse (a new UUID otherwise): each message_id is accepted once. */
  messageId?: string;
  /** The time of the header (now by default), in ms since the epoch. */
  nowMs?: number;
  meta?: Record<string, unknown>;
}
/** Builds `{header, message}` with a new message_id and message_ts (ISO 8601, UTC). */
export declare function buildEnvelope(message: Record<string, unknown>, options: EnvelopeOptions): Envelope;
/** One search_request item: an identifier search (`idtype-value`) or any query of `queryType`. */
export interface SearchItem {
  /** * The registry type (`ns:org:RegistryType:Social`, `…:Civil`, `…:FR`, `…:DR`, `…:IBR`); left out when absent
   * (optional in the spec: the registry of the path then answers).
   */
  regType?: string;
  queryType?: "idtype-value" | "expression" | "predicate";
  query: unknown;
  referenceId?: string;
  /** A page by number, or after the `next_cursor` of the page before (stable while records are added). */
  pagination?: {
    page_size: number;
    page_number?: number;
    cursor?: string;
  };
  nowMs?: number;
}
/** The spec's registry types of the registries dci-server serves, by the name in their paths. */
export declare const REGISTRY_TYPES: Readonly<Record<string, string>>;
/** A search message with one request item per `items` entry and a new transaction_id. */
export declare function searchMessage(items: SearchItem[]): Record<string, unknown>;
/**
 * DCI envelope signatures (the body's `signature` string), exactly as the server signs and verifies them:
 * digest = base64(SHA-256(canonical JSON of {header, message})), signing string
 * `(created): C\n(expires): E\ndigest: D`, Ed25519 or RSA-SHA256 (PKCS#1 v1.5), kidId `{sender_id}|{key_id}|{alg}`.
 */
/** The longest validity (expires − created) the server accepts by default, and the skew it tolerates (s). */
export declare const MAX_SIGNATURE_WINDOW_S = 300;
export declare const SIGNATURE_SKEW_S = 60;
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
export declare function envelopeDigest(envelope: Signable, form?: CanonicalForm): Promise<string>;
/** Signs `{header, message}` now (or at `nowMs`) for `ttlSeconds` (≤ 300, default 300); returns the signature string. */
export declare function signEnvelope(
  envelope: Signable,
  key: Pick<SenderKey, "kid" | "alg" | "privateKey">,
  options?: { nowMs?: number; ttlSeconds?: number; form?: CanonicalForm },
): Promise<string>;
/** Returns the envelope with its `signature` set (see signEnvelope). */
export declare function signedEnvelope<T extends Signable>(
  envelope: T,
  key: Pick<SenderKey, "kid" | "alg" | "privateKey">,
  options?: { nowMs?: number; ttlSeconds?: number; form?: CanonicalForm },
): Promise<
  T & {
    signature: string;
  }
>;
/** Parses a DCI signature string (`name="value"` or `name=value` parameters, comma separated). */
export declare function parseSignature(value: string): SignatureParams | undefined;
/** Splits `{sender_id}|{key_id}|{alg}` from the right (a sender id may hold `|`, key ids never do). */
export declare function parseKid(kid: string): { senderId: string; keyId: string; alg?: string } | undefined;
/** Finds the public key a signature names (its full kid, e.g. a JWKS lookup). */
export type ResolveKey = (params: SignatureParams) => Promise<CryptoKey | undefined> | CryptoKey | undefined;
/**
 * Verifies an envelope's signature string over both canonical forms (Python's ASCII-escaped, then JCS) and, when
 * `sourceText` (the JSON the envelope was parsed from) holds numbers JSON.stringify writes differently, over the
 * numbers as written. Time rules as the server's: not expired, created at most 60 s ahead, window ≤ `maxWindowS`.
 */
export declare function verifyEnvelope(envelope: Signable & { signature?: unknown }, options: {
  resolveKey: ResolveKey;
  nowMs?: number;
  sourceText?: string;
  maxWindowS?: number;
}): Promise<
  {
    ok: true;
    params: SignatureParams;
  } | {
    ok: false;
    reason: SignatureFailure;
  }
>;
/** The parts of a request a signature covers. */
export interface RequestParts {
  method: string;
  url: string;
  headers?: HeadersInit;
  body: string | Uint8Array;
}
/** The RFC 9530 Content-Digest value (sha-256) of a body. */
export declare function contentDigest(body: string | Uint8Array): Promise<string>;
/** The components signed unless the caller names others. */
export declare const DEFAULT_COMPONENTS: string[];
/** The value of one covered component (RFC 9421 §2): a derived `@` component or a header field, trimmed. */
export declare function componentValue(method: string, url: URL, headers: Headers, name: string): string;
/**
 * Returns the request's headers with Content-Digest, Signature-Input and Signature added, signed at `nowMs`
 * (default now). The server accepts a signature for the sender's window (300 s by default) after `created`.
 */
export declare function signRequest(
  request: RequestParts,
  key: Pick<SenderKey, "keyId" | "alg" | "privateKey">,
  options?: {
    components?: string[];
    nowMs?: number;
    expiresInSeconds?: number;
    label?: string;
    /** Whether to name the algorithm in an `alg` parameter (default true; the server reads it from the key). */
    alg?: boolean;
  },
): Promise<Headers>;
/** A refused or failed token request (`error` is the RFC 6749 §5.2 code when the server sent one). */
export declare class TokenError extends Error {
  readonly status: number;
  readonly error?: string | undefined;
  readonly retryAfter?: number | undefined;
  /** `retryAfter` is in seconds (429 and 503 carry it). */
  constructor(message: string, status: number, error?: string | undefined, retryAfter?: number | undefined);
}
/** Where and as whom to get tokens. */
export interface TokenOptions {
  /** `http://host:port/oauth2/client/token` */ tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Space-separated scopes to ask for (all the client's scopes when absent). */
  scope?: string;
  /** Refresh this many seconds before expiry (default 60; at most half the token's lifetime). */
  refreshMarginSeconds?: number;
  /** Give up on a token request after this long (default 30,000 ms). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  /** The clock, in ms since the epoch (tests pass a fake one). */
  now?: () => number;
}
/** Gets and caches access tokens for one client. */
export declare class TokenClient {
  #private;
  /** How many tokens this client has fetched (what a test of the cache counts). */
  fetched: number;
  constructor(options: TokenOptions);
  /** A valid access token: the cached one, or a new one when it is about to expire. */
  token(): Promise<string>;
  /**
   * Forgets the cached token after a 401 (the client was rotated or the server's key retired). Pass the token the
   * server refused: a newer one fetched since (by another request's 401) is kept, so that late 401s of requests
   * still in flight do not fetch one token each.
   */
  invalidate(rejected?: string): void;
}
/**
 * The server's public keys from its JWKS (`/.well-known/jwks.json`), to verify its signed answers, callbacks and
 * notifications: fetched once, kept for `maxAgeSeconds`, and fetched again when a signature names a kid it does
 * not hold (after a key rotation), at most once per `minRefetchSeconds`.
 */
/** How long a request of the SDK waits for an answer unless told otherwise (ms). */
export declare const DEFAULT_TIMEOUT_MS = 30000;
/** How to reach and cache the JWKS. */
export interface ServerKeysOptions {
  jwksUrl: string;
  /** Refuse signatures whose kid names another server (the server's DCI_SENDER_ID, e.g. `dci-server`). */
  serverId?: string;
  /** Keep the fetched keys this long (default 3600 s). */
  maxAgeSeconds?: number;
  /** Fetch again for an unknown kid, or after a failed fetch, at most this often (default 30 s). */
  minRefetchSeconds?: number;
  /** Give up on a JWKS fetch after this long (default 30,000 ms). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}
/** The outcome of verifying a server envelope; `envelope` is the parsed body when there was one. */
export type ServerVerification = {
  ok: true;
  params: SignatureParams;
  envelope: Signable & {
    signature: string;
  };
} | {
  ok: false;
  /**
   * `other_receiver`: signed by the server, for another partner (`header.receiver_id`); `other_action`: not
   * one of the actions the receiver expects here (`header.action`); `other_transaction`: an answer to another
   * request (`message.transaction_id`).
   */
  reason:
    | SignatureFailure
    | "not_json"
    | "other_server"
    | "other_receiver"
    | "other_action"
    | "other_transaction";
};
/** What a received envelope must be besides well signed (ServerKeys.verifyText). */
export interface ExpectedEnvelope {
  /** Your sender id: `header.receiver_id`, when the envelope names one, must be it (dci-server always names it). */ receiverId?:
    string;
  /** The `header.action` values this endpoint takes (e.g. `["notify"]` at a notify URL). */
  actions?: readonly string[];
}
/** The server's signing keys, cached by kid. */
export declare class ServerKeys {
  #private;
  /** How many times the JWKS was fetched. */
  fetched: number;
  constructor(options: ServerKeysOptions);
  /**
   * The public key of `kid` (`{server_id}|{key_id}|{alg}`), fetching the JWKS when stale or the kid is new. When
   * that fetch fails, a key already held is still used (a server restarting past the hour must not fail every
   * answer); the error is thrown only when the kid is not held.
   */
  key(kid: string): Promise<CryptoKey | undefined>;
  /** Fetches the JWKS now (concurrent callers share the request); a failed fetch keeps the old keys. */
  refresh(): Promise<void>;
  /** Verifies a parsed server envelope; pass the text it was parsed from as `sourceText` when you have it. */
  verify(
    envelope: Signable & {
      signature?: unknown;
    },
    options?: {
      sourceText?: string;
    },
  ): Promise<ServerVerification>;
  /**
   * Verifies a body as received (a sync answer, a callback, a notification), and that it is what `expected` says:
   * addressed to you (`receiverId`: without it a partner could forward you what the server signed for it) and one
   * of the actions the endpoint takes. Read the body with a size cap first; a retried callback or notification
   * comes again with the same `header.message_id`, so process each message id once.
   */
  verifyText(text: string, expected?: ExpectedEnvelope): Promise<ServerVerification>;
}
/**
 * A DCI client for one sender: gets tokens, signs each request (envelope signature, RFC 9421 or both), posts it
 * and verifies the server's signed answer against its JWKS.
 */
/** Who the client speaks for and where. */
export interface DciClientOptions {
  /** The server's base URL, e.g. `http://127.0.0.1:8080`. */ baseUrl: string;
  clientId: string;
  clientSecret: string;
  key: SenderKey;
  /** `envelope` (the DCI `signature` field, default), `http` (RFC 9421 headers) or `both`. */
  signWith?: "envelope" | "http" | "both";
  /** The canonical form envelope signatures are made in (default `"python"`, the server's own). */
  form?: CanonicalForm;
  /**
   * How long an envelope signature is valid, in seconds (default and most 300): set it to at most the sender's
   * `signature_max_window_seconds` when the server's operator set that lower, which refuses longer windows.
   */
  signatureTtlSeconds?: number;
  /** The server's DCI sender id: header.receiver_id, and the only kid its answers may be signed with. */
  serverId?: string;
  scope?: string;
  /** Give up on a request, a token or a JWKS fetch after this long (default 30,000 ms). */
  timeoutMs?: number;
  fetch?: typeof fetch;
  now?: () => number;
}
/**
 * An answer: `verification` is set when the body carried a signature. A sync answer (HTTP 200) must carry one;
 * an ERR ACK and an async request's 202 ACK carry none.
 */
export interface DciAnswer {
  status: number;
  headers: Headers;
  text: string;
  body: Record<string, unknown>;
  verification?: ServerVerification;
}
/**
 * Thrown when an answer does not verify against the server's JWKS: a 200 without a signature (`missing`), a bad
 * signature, or a well-signed answer to another partner (`other_receiver`) or another request
 * (`other_transaction`), which whoever sits between you and the server could put in its place.
 */
export declare class AnswerVerificationError extends Error {
  readonly answer: DciAnswer;
  constructor(answer: DciAnswer);
}
/** Calls a DCI server as one sender. */
export declare class DciClient {
  #private;
  readonly tokens: TokenClient;
  readonly serverKeys: ServerKeys;
  constructor(options: DciClientOptions);
  /** A request envelope from this sender (unsigned; `post` signs it); `options` adds e.g. `senderUri`. */
  envelope(message: Record<string, unknown>, action: string, options?: Partial<EnvelopeOptions>): Envelope;
  /**
   * A sync search (`/registry/sync/search`, or `{registry}`'s) with one item per query; verifies the answer. An
   * item without `regType` names the registry's own (REGISTRY_TYPES) when `registry` is given, none otherwise.
   */
  search(items: SearchItem[], options?: {
    registry?: string;
  }): Promise<DciAnswer>;
  /**
   * Signs and posts an envelope to `path`; a 401 refetches the token once. Throws AnswerVerificationError when
   * an answer does not verify (its cases: AnswerVerificationError).
   */
  post(path: string, envelope: Envelope): Promise<DciAnswer>;
}
