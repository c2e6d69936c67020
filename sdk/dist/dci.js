// sdk/src/canonical.ts
var NumberLiteral = class {
  source;
  /** `source` must be a JSON number literal. */
  constructor(source) {
    this.source = source;
    if (!/^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?$/.test(source)) {
      throw new TypeError(`not a JSON number: ${JSON.stringify(source)}`);
    }
  }
};
function canonicalJson(value, form = "python") {
  const out = nativeSorted(value) ?? serialise(value);
  return form === "python" ? escapeNonAscii(out) : out;
}
function canonicalForms(value) {
  const jcs = serialise(value);
  return NON_ASCII.test(jcs)
    ? [
      escapeNonAscii(jcs),
      jcs,
    ]
    : [
      jcs,
    ];
}
function toJson(value) {
  return serialise(value);
}
function parseKeepingNumberLiterals(text) {
  let kept = false;
  const value = JSON.parse(text, (_key, v, context) => {
    if (typeof v !== "number" || context?.source === void 0 || context.source === String(v)) return v;
    kept = true;
    return new NumberLiteral(context.source);
  });
  return kept ? value : void 0;
}
function serialise(value) {
  if (value === null || typeof value !== "object") {
    if (typeof value === "number" && !Number.isFinite(value)) return "null";
    return JSON.stringify(value) ?? "null";
  }
  if (value instanceof NumberLiteral) return value.source;
  if (Array.isArray(value)) {
    let out2 = "[";
    for (let i = 0; i < value.length; i++) {
      const v = value[i];
      out2 += (i === 0 ? "" : ",") + (v === void 0 ? "null" : serialise(v));
    }
    return out2 + "]";
  }
  const obj = value;
  const keys = Object.keys(obj).sort();
  let out = "{";
  for (const k of keys) {
    const v = obj[k];
    if (v === void 0) continue;
    out += (out.length === 1 ? "" : ",") + JSON.stringify(k) + ":" + serialise(v);
  }
  return out + "}";
}
var NOT_NATIVE = Symbol("not native");
function nativeSorted(value) {
  if (value === null || typeof value !== "object") return void 0;
  try {
    return JSON.stringify(sortedCopy(value));
  } catch (err) {
    if (err === NOT_NATIVE) return void 0;
    throw err;
  }
}
function sortedCopy(value) {
  if (value === null || typeof value !== "object") return value;
  if (value instanceof NumberLiteral) throw NOT_NATIVE;
  if (Array.isArray(value)) {
    const copy2 = new Array(value.length);
    for (let i = 0; i < value.length; i++) copy2[i] = sortedCopy(value[i]);
    return copy2;
  }
  const obj = value;
  const keys = Object.keys(obj).sort();
  const copy = {};
  for (const k of keys) {
    const c = k.charCodeAt(0);
    if (c >= 48 && c <= 57 || k === "__proto__") throw NOT_NATIVE;
    const v = obj[k];
    if (v === void 0) continue;
    if (typeof v === "function" || typeof v === "symbol") throw NOT_NATIVE;
    copy[k] = sortedCopy(v);
  }
  return copy;
}
var NON_ASCII = /[^\x00-\x7e]/;
var NON_ASCII_ALL = /[^\x00-\x7e]/g;
function escapeNonAscii(json) {
  return json.replace(NON_ASCII_ALL, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

// sdk/src/encoding.ts
function toBase64(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 32768) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 32768));
  }
  return btoa(bin);
}
function fromBase64(text) {
  const std = text.replaceAll("-", "+").replaceAll("_", "/");
  const bin = atob(std + "=".repeat((4 - std.length % 4) % 4));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}
function utf8(text) {
  return new TextEncoder().encode(text);
}
async function sha256Base64(data) {
  const bytes = typeof data === "string" ? utf8(data) : data;
  return toBase64(new Uint8Array(await crypto.subtle.digest("SHA-256", bytes)));
}
function pemToDer(pem) {
  const m = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/.exec(pem);
  if (!m) throw new TypeError("not a PEM block");
  return {
    label: m[1],
    der: fromBase64(m[2].replace(/\s+/g, "")),
  };
}
function pkcs1ToPkcs8(pkcs1) {
  const version = [
    2,
    1,
    0,
  ];
  const algorithm = [
    48,
    13,
    6,
    9,
    42,
    134,
    72,
    134,
    247,
    13,
    1,
    1,
    1,
    5,
    0,
  ];
  const octets = [
    4,
    ...derLength(pkcs1.length),
    ...pkcs1,
  ];
  const body = [
    ...version,
    ...algorithm,
    ...octets,
  ];
  return Uint8Array.from([
    48,
    ...derLength(body.length),
    ...body,
  ]);
}
function derLength(n) {
  if (n < 128) {
    return [
      n,
    ];
  }
  const bytes = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 255);
  return [
    128 | bytes.length,
    ...bytes,
  ];
}

// sdk/src/keys.ts
var WEBCRYPTO = {
  ed25519: {
    name: "Ed25519",
  },
  "rsa-sha256": {
    name: "RSASSA-PKCS1-v1_5",
    hash: "SHA-256",
  },
};
async function signBytes(alg, key, data) {
  return new Uint8Array(await crypto.subtle.sign(WEBCRYPTO[alg].name, key, data));
}
async function verifyBytes(alg, key, signature, data) {
  try {
    return await crypto.subtle.verify(WEBCRYPTO[alg].name, key, signature, data);
  } catch {
    return false;
  }
}
function isEd25519Der(der) {
  for (let i = 0; i + 4 < Math.min(der.length, 24); i++) {
    if (der[i] === 6 && der[i + 1] === 3 && der[i + 2] === 43 && der[i + 3] === 101 && der[i + 4] === 112) {
      return true;
    }
  }
  return false;
}
async function importPrivateKey(material) {
  if (typeof material !== "string") {
    const alg2 = material.kty === "OKP" ? "ed25519" : "rsa-sha256";
    const { alg: _a, key_ops: _o, use: _u, ...jwk } = material;
    return {
      alg: alg2,
      key: await crypto.subtle.importKey("jwk", jwk, WEBCRYPTO[alg2], false, [
        "sign",
      ]),
    };
  }
  const { label, der } = pemToDer(material);
  if (label === "ENCRYPTED PRIVATE KEY") {
    throw new TypeError("decrypt the key first (openssl pkey -in \u2026 -out \u2026)");
  }
  if (label !== "PRIVATE KEY" && label !== "RSA PRIVATE KEY") {
    throw new TypeError(`a "${label}" PEM block is not a private key`);
  }
  const pkcs8 = label === "RSA PRIVATE KEY" ? pkcs1ToPkcs8(der) : der;
  const alg = isEd25519Der(pkcs8) ? "ed25519" : "rsa-sha256";
  return {
    alg,
    key: await crypto.subtle.importKey("pkcs8", pkcs8, WEBCRYPTO[alg], false, [
      "sign",
    ]),
  };
}
async function senderKey(senderId, keyId, material) {
  const { alg, key } = await importPrivateKey(material);
  return {
    senderId,
    keyId,
    alg,
    kid: `${senderId}|${keyId}|${alg}`,
    privateKey: key,
  };
}
async function importPublicKey(material) {
  if (typeof material !== "string") {
    const alg2 = material.kty === "OKP" ? "ed25519" : "rsa-sha256";
    if (alg2 === "ed25519" && material.crv !== "Ed25519") {
      throw new TypeError(`curve "${material.crv}" is not Ed25519`);
    }
    const jwk = alg2 === "ed25519"
      ? {
        kty: "OKP",
        crv: "Ed25519",
        x: material.x,
      }
      : {
        kty: "RSA",
        n: material.n,
        e: material.e,
      };
    return {
      alg: alg2,
      key: await crypto.subtle.importKey("jwk", jwk, WEBCRYPTO[alg2], true, [
        "verify",
      ]),
    };
  }
  const { label, der } = pemToDer(material);
  if (label !== "PUBLIC KEY") {
    throw new TypeError(`a "${label}" PEM block is not an SPKI public key`);
  }
  const alg = isEd25519Der(der) ? "ed25519" : "rsa-sha256";
  return {
    alg,
    key: await crypto.subtle.importKey("spki", der, WEBCRYPTO[alg], true, [
      "verify",
    ]),
  };
}
function signatureBytes(text) {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(text)) return void 0;
  try {
    return fromBase64(text);
  } catch {
    return void 0;
  }
}

// sdk/src/envelope.ts
var ITEM_ARRAYS = [
  "search_request",
  "subscribe_request",
  "unsubscribe_request",
  "txnstatus_request",
  "enrolled_criteria",
];
function itemCount(message) {
  const list = ITEM_ARRAYS.map((k) => message[k]).find(Array.isArray);
  if (list) return list.length;
  const updates = message.enrolled_updates ?? message.receipt_information;
  const beneficiaries = typeof updates === "object" && updates !== null ? updates.beneficiaries : void 0;
  return Array.isArray(beneficiaries) ? beneficiaries.length : void 0;
}
function buildEnvelope(message, options) {
  const header = {
    version: "1.0.0",
    message_id: options.messageId ?? crypto.randomUUID(),
    message_ts: new Date(options.nowMs ?? Date.now()).toISOString(),
    action: options.action,
    sender_id: options.senderId,
    ...options.senderUri
      ? {
        sender_uri: options.senderUri,
      }
      : {},
    ...options.receiverId
      ? {
        receiver_id: options.receiverId,
      }
      : {},
    total_count: options.totalCount ?? itemCount(message) ?? 1,
    is_msg_encrypted: false,
    ...options.meta
      ? {
        meta: options.meta,
      }
      : {},
  };
  return {
    header,
    message,
  };
}
var REGISTRY_TYPES = {
  social: "ns:org:RegistryType:Social",
  crvs: "ns:org:RegistryType:Civil",
  fr: "ns:org:RegistryType:FR",
  dr: "ns:org:RegistryType:DR",
  ibr: "ns:org:RegistryType:IBR",
};
function searchMessage(items) {
  return {
    transaction_id: crypto.randomUUID(),
    search_request: items.map((item) => ({
      reference_id: item.referenceId ?? crypto.randomUUID(),
      timestamp: new Date(item.nowMs ?? Date.now()).toISOString(),
      search_criteria: {
        ...item.regType
          ? {
            reg_type: item.regType,
          }
          : {},
        query_type: item.queryType ?? "idtype-value",
        query: item.query,
        ...item.pagination
          ? {
            pagination: item.pagination,
          }
          : {},
      },
    })),
  };
}

// sdk/src/envelope_signature.ts
var MAX_SIGNATURE_WINDOW_S = 300;
var SIGNATURE_SKEW_S = 60;
function envelopeDigest(envelope, form = "python") {
  return sha256Base64(canonicalJson({
    header: envelope.header,
    message: envelope.message,
  }, form));
}
async function signEnvelope(envelope, key, options = {}) {
  const created = Math.floor((options.nowMs ?? Date.now()) / 1e3);
  const expires = created + Math.min(options.ttlSeconds ?? MAX_SIGNATURE_WINDOW_S, MAX_SIGNATURE_WINDOW_S);
  const digest = await envelopeDigest(envelope, options.form ?? "python");
  const sig = await signBytes(key.alg, key.privateKey, signingString(created, expires, digest));
  return `namespace="dci", kidId="${key.kid}", algorithm="${key.alg}", created="${created}", expires="${expires}", headers="(created) (expires) digest", signature="${
    toBase64(sig)
  }"`;
}
async function signedEnvelope(envelope, key, options = {}) {
  return {
    ...envelope,
    signature: await signEnvelope(envelope, key, options),
  };
}
function parseSignature(value) {
  const fields = /* @__PURE__ */ new Map();
  const re = /\s*([A-Za-z]+)\s*=\s*(?:"([^"]*)"|([^\s,"]+))\s*(,|$)/y;
  let m;
  while (re.lastIndex < value.length && (m = re.exec(value)) !== null) {
    fields.set(m[1], m[2] ?? m[3]);
  }
  if (re.lastIndex !== value.length || fields.size === 0) return void 0;
  const kid = fields.get("kidId") ?? fields.get("keyId") ?? "";
  const parts = parseKid(kid);
  const alg = normaliseAlg(fields.get("algorithm") ?? parts?.alg ?? "");
  const created = Number(fields.get("created"));
  const expires = Number(fields.get("expires"));
  const signature = signatureBytes(fields.get("signature") ?? "");
  if (!parts?.senderId || !parts.keyId || !alg || !signature) return void 0;
  if (!Number.isSafeInteger(created) || !Number.isSafeInteger(expires)) {
    return void 0;
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
function parseKid(kid) {
  const last = kid.lastIndexOf("|");
  if (last < 0) return void 0;
  const before = last === 0 ? -1 : kid.lastIndexOf("|", last - 1);
  return before < 0
    ? {
      senderId: kid.slice(0, last),
      keyId: kid.slice(last + 1),
    }
    : {
      senderId: kid.slice(0, before),
      keyId: kid.slice(before + 1, last),
      alg: kid.slice(last + 1),
    };
}
function normaliseAlg(name) {
  const n = name.toLowerCase();
  if (n === "ed25519" || n === "eddsa") return "ed25519";
  if (n === "rsa-sha256" || n === "rs256") return "rsa-sha256";
  return void 0;
}
async function verifyEnvelope(envelope, options) {
  if (typeof envelope.signature !== "string" || envelope.signature.trim() === "") {
    return {
      ok: false,
      reason: "missing",
    };
  }
  const p = parseSignature(envelope.signature);
  if (!p) {
    return {
      ok: false,
      reason: "malformed",
    };
  }
  const now = Math.floor((options.nowMs ?? Date.now()) / 1e3);
  if (p.expires < p.created || p.expires - p.created > (options.maxWindowS ?? MAX_SIGNATURE_WINDOW_S)) {
    return {
      ok: false,
      reason: "window_too_long",
    };
  }
  if (now > p.expires) {
    return {
      ok: false,
      reason: "expired",
    };
  }
  if (p.created > now + SIGNATURE_SKEW_S) {
    return {
      ok: false,
      reason: "not_yet_valid",
    };
  }
  const key = await options.resolveKey(p);
  if (!key) {
    return {
      ok: false,
      reason: "unknown_key",
    };
  }
  const matches = async (json) =>
    verifyBytes(p.alg, key, p.signature, signingString(p.created, p.expires, await sha256Base64(json)));
  for (
    const json of canonicalForms({
      header: envelope.header,
      message: envelope.message,
    })
  ) {
    if (await matches(json)) {
      return {
        ok: true,
        params: p,
      };
    }
  }
  let literal;
  try {
    literal = options.sourceText === void 0 ? void 0 : parseKeepingNumberLiterals(options.sourceText);
  } catch {
    literal = void 0;
  }
  for (
    const json of literal
      ? canonicalForms({
        header: literal.header,
        message: literal.message,
      })
      : []
  ) {
    if (await matches(json)) {
      return {
        ok: true,
        params: p,
      };
    }
  }
  return {
    ok: false,
    reason: "mismatch",
  };
}
function signingString(created, expires, digest) {
  return utf8(`(created): ${created}
(expires): ${expires}
digest: ${digest}`);
}

// sdk/src/http_signature.ts
async function contentDigest(body) {
  const bytes = typeof body === "string" ? utf8(body) : body;
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return `sha-256=:${toBase64(hash)}:`;
}
var DEFAULT_COMPONENTS = [
  "@method",
  "@target-uri",
  "content-digest",
];
function componentValue(method, url, headers, name) {
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
async function signRequest(request, key, options = {}) {
  const headers = new Headers(request.headers);
  headers.set("content-digest", await contentDigest(request.body));
  const components = options.components ?? DEFAULT_COMPONENTS;
  const created = Math.floor((options.nowMs ?? Date.now()) / 1e3);
  const alg = key.alg === "ed25519" ? "ed25519" : "rsa-v1_5-sha256";
  const expires = options.expiresInSeconds === void 0 ? "" : `;expires=${created + options.expiresInSeconds}`;
  const params = `(${
    components.map((c) => `"${c}"`).join(" ")
  });created=${created}${expires};keyid="${key.keyId}"${options.alg === false ? "" : `;alg="${alg}"`}`;
  const url = new URL(request.url);
  const lines = components.map((c) => `"${c}": ${componentValue(request.method, url, headers, c)}`);
  lines.push(`"@signature-params": ${params}`);
  const signature = await signBytes(key.alg, key.privateKey, utf8(lines.join("\n")));
  const label = options.label ?? "sig1";
  headers.set("signature-input", `${label}=${params}`);
  headers.set("signature", `${label}=:${toBase64(signature)}:`);
  return headers;
}

// sdk/src/jwks.ts
var DEFAULT_TIMEOUT_MS = 3e4;
var ServerKeys = class {
  #keys = /* @__PURE__ */ new Map();
  #fetchedAt = -Infinity;
  /** When the last fetch was tried, whatever came of it: a failed one is not tried again at once. */
  #triedAt = -Infinity;
  #pending;
  #options;
  /** How many times the JWKS was fetched. */
  fetched = 0;
  constructor(options) {
    this.#options = options;
  }
  /**
   * The public key of `kid` (`{server_id}|{key_id}|{alg}`), fetching the JWKS when stale or the kid is new. When
   * that fetch fails, a key already held is still used (a server restarting past the hour must not fail every
   * answer); the error is thrown only when the kid is not held.
   */
  async key(kid) {
    const now = this.#now();
    const o = this.#options;
    const stale = now - this.#fetchedAt > (o.maxAgeSeconds ?? 3600) * 1e3;
    const mayRefetch = now - this.#triedAt >= (o.minRefetchSeconds ?? 30) * 1e3;
    if ((stale || !this.#keys.has(kid)) && mayRefetch) {
      try {
        await this.refresh();
      } catch (err) {
        if (!this.#keys.has(kid)) throw err;
      }
    }
    return this.#keys.get(kid);
  }
  /** Fetches the JWKS now (concurrent callers share the request); a failed fetch keeps the old keys. */
  refresh() {
    this.#triedAt = this.#now();
    this.#pending ??= this.#load().finally(() => this.#pending = void 0);
    return this.#pending;
  }
  /** Verifies a parsed server envelope; pass the text it was parsed from as `sourceText` when you have it. */
  async verify(envelope, options = {}) {
    let otherServer = false;
    const serverId = this.#options.serverId;
    const result = await verifyEnvelope(envelope, {
      nowMs: this.#now(),
      sourceText: options.sourceText,
      resolveKey: (p) => {
        otherServer = serverId !== void 0 && p.senderId !== serverId;
        return otherServer ? void 0 : this.key(p.kid);
      },
    });
    if (!result.ok) {
      return {
        ok: false,
        reason: otherServer ? "other_server" : result.reason,
      };
    }
    return {
      ok: true,
      params: result.params,
      envelope,
    };
  }
  /**
   * Verifies a body as received (a sync answer, a callback, a notification), and that it is what `expected` says:
   * addressed to you (`receiverId`: without it a partner could forward you what the server signed for it) and one
   * of the actions the endpoint takes. Read the body with a size cap first; a retried callback or notification
   * comes again with the same `header.message_id`, so process each message id once.
   */
  async verifyText(text, expected = {}) {
    let envelope;
    try {
      envelope = JSON.parse(text);
    } catch {
      return {
        ok: false,
        reason: "not_json",
      };
    }
    if (!envelope || typeof envelope !== "object") {
      return {
        ok: false,
        reason: "not_json",
      };
    }
    const v = await this.verify(envelope, {
      sourceText: text,
    });
    if (!v.ok) return v;
    const header = v.envelope.header ?? {};
    if (
      expected.receiverId !== void 0 && header.receiver_id !== void 0 &&
      header.receiver_id !== expected.receiverId
    ) {
      return {
        ok: false,
        reason: "other_receiver",
      };
    }
    if (expected.actions && !expected.actions.includes(String(header.action))) {
      return {
        ok: false,
        reason: "other_action",
      };
    }
    return v;
  }
  #now() {
    return (this.#options.now ?? Date.now)();
  }
  async #load() {
    const o = this.#options;
    const res = await (o.fetch ?? fetch)(o.jwksUrl, {
      headers: {
        accept: "application/json",
      },
      signal: AbortSignal.timeout(o.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`JWKS fetch from ${o.jwksUrl} failed: HTTP ${res.status}`);
    }
    const doc = await res.json();
    const keys = /* @__PURE__ */ new Map();
    for (const jwk of Array.isArray(doc.keys) ? doc.keys : []) {
      if (typeof jwk.kid !== "string") continue;
      try {
        keys.set(jwk.kid, (await importPublicKey(jwk)).key);
      } catch {
      }
    }
    this.#keys = keys;
    this.#fetchedAt = this.#now();
    this.fetched++;
  }
};

// sdk/src/token.ts
var TokenError = class extends Error {
  status;
  error;
  retryAfter;
  /** `retryAfter` is in seconds (429 and 503 carry it). */
  constructor(message, status, error, retryAfter) {
    super(message), this.status = status, this.error = error, this.retryAfter = retryAfter;
    this.name = "TokenError";
  }
};
function formEncode(s) {
  return encodeURIComponent(s).replace(/%20/g, "+");
}
var TokenClient = class {
  #cached;
  #pending;
  // A private field, not a property: the client secret never shows in console.log or JSON.stringify of a client.
  #options;
  /** How many tokens this client has fetched (what a test of the cache counts). */
  fetched = 0;
  constructor(options) {
    this.#options = options;
  }
  /** A valid access token: the cached one, or a new one when it is about to expire. */
  token() {
    const now = this.#now();
    if (this.#cached && now < this.#cached.refreshAt) {
      return Promise.resolve(this.#cached.token);
    }
    this.#pending ??= this.#fetch().finally(() => this.#pending = void 0);
    return this.#pending;
  }
  /**
   * Forgets the cached token after a 401 (the client was rotated or the server's key retired). Pass the token the
   * server refused: a newer one fetched since (by another request's 401) is kept, so that late 401s of requests
   * still in flight do not fetch one token each.
   */
  invalidate(rejected) {
    if (rejected === void 0 || this.#cached?.token === rejected) this.#cached = void 0;
  }
  #now() {
    return (this.#options.now ?? Date.now)();
  }
  async #fetch() {
    const o = this.#options;
    const started = this.#now();
    const res = await (o.fetch ?? fetch)(o.tokenUrl, {
      method: "POST",
      signal: AbortSignal.timeout(o.timeoutMs ?? DEFAULT_TIMEOUT_MS),
      headers: {
        "content-type": "application/x-www-form-urlencoded",
        authorization: `Basic ${btoa(`${formEncode(o.clientId)}:${formEncode(o.clientSecret)}`)}`,
      },
      body: new URLSearchParams({
        grant_type: "client_credentials",
        ...o.scope
          ? {
            scope: o.scope,
          }
          : {},
      }),
    });
    const text = await res.text();
    let body = {};
    try {
      body = JSON.parse(text);
    } catch {
    }
    if (res.status !== 200 || typeof body.access_token !== "string") {
      const retry = Number(res.headers.get("retry-after") ?? NaN);
      throw new TokenError(
        `token request failed: HTTP ${res.status} ${body.error ?? ""} ${body.error_description ?? ""}`.trim(),
        res.status,
        body.error,
        Number.isFinite(retry) ? retry : void 0,
      );
    }
    const lifetime = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
    const margin = Math.min(o.refreshMarginSeconds ?? 60, lifetime / 2);
    this.fetched++;
    this.#cached = {
      token: body.access_token,
      refreshAt: started + (lifetime - margin) * 1e3,
    };
    return body.access_token;
  }
};

// sdk/src/client.ts
var AnswerVerificationError = class extends Error {
  answer;
  constructor(answer) {
    super(
      `the server's answer did not verify: ${
        answer.verification?.ok === false ? answer.verification.reason : ""
      }`,
    ), this.answer = answer;
    this.name = "AnswerVerificationError";
  }
};
function errorCode(text) {
  try {
    return JSON.parse(text).message?.error?.code;
  } catch {
    return void 0;
  }
}
var DciClient = class {
  tokens;
  serverKeys;
  // A private field, not a property: the client secret never shows in console.log or JSON.stringify of a client.
  #options;
  constructor(options) {
    this.#options = options;
    const base = options.baseUrl.replace(/\/+$/, "");
    this.tokens = new TokenClient({
      tokenUrl: `${base}/oauth2/client/token`,
      clientId: options.clientId,
      clientSecret: options.clientSecret,
      scope: options.scope,
      timeoutMs: options.timeoutMs,
      fetch: options.fetch,
      now: options.now,
    });
    this.serverKeys = new ServerKeys({
      jwksUrl: `${base}/.well-known/jwks.json`,
      serverId: options.serverId,
      timeoutMs: options.timeoutMs,
      fetch: options.fetch,
      now: options.now,
    });
  }
  /** A request envelope from this sender (unsigned; `post` signs it); `options` adds e.g. `senderUri`. */
  envelope(message, action, options = {}) {
    return buildEnvelope(message, {
      senderId: this.#options.key.senderId,
      action,
      receiverId: this.#options.serverId,
      nowMs: this.#now(),
      ...options,
    });
  }
  /**
   * A sync search (`/registry/sync/search`, or `{registry}`'s) with one item per query; verifies the answer. An
   * item without `regType` names the registry's own (REGISTRY_TYPES) when `registry` is given, none otherwise.
   */
  search(items, options = {}) {
    const path = options.registry
      ? `/dci_api/v1/${options.registry}/registry/sync/search`
      : "/registry/sync/search";
    const now = this.#now();
    const regType = options.registry ? REGISTRY_TYPES[options.registry] : void 0;
    return this.post(
      path,
      this.envelope(
        searchMessage(items.map((i) => ({
          nowMs: now,
          regType,
          ...i,
        }))),
        "search",
      ),
    );
  }
  /**
   * Signs and posts an envelope to `path`; a 401 refetches the token once. Throws AnswerVerificationError when
   * an answer does not verify (its cases: AnswerVerificationError).
   */
  async post(path, envelope) {
    const o = this.#options;
    const mode = o.signWith ?? "envelope";
    const body = toJson(
      mode === "http" ? envelope : await signedEnvelope(envelope, o.key, {
        nowMs: this.#now(),
        form: o.form,
        ttlSeconds: o.signatureTtlSeconds,
      }),
    );
    const url = `${o.baseUrl.replace(/\/+$/, "")}${path}`;
    let sent = await this.#send(url, body, mode);
    let res = sent.res;
    let text = await res.text();
    if (res.status === 401 && errorCode(text) === "err.request.unauthorized") {
      this.tokens.invalidate(sent.token);
      sent = await this.#send(url, body, mode);
      res = sent.res;
      text = await res.text();
    }
    let parsed = {};
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = {};
    }
    const answer = {
      status: res.status,
      headers: res.headers,
      text,
      body: parsed,
    };
    if (typeof parsed.signature === "string" || res.status === 200) {
      answer.verification = await this.serverKeys.verifyText(text, {
        receiverId: o.key.senderId,
      });
      if (answer.verification.ok && !sameTransaction(envelope, answer.verification.envelope)) {
        answer.verification = {
          ok: false,
          reason: "other_transaction",
        };
      }
      if (!answer.verification.ok) throw new AnswerVerificationError(answer);
    }
    return answer;
  }
  async #send(url, body, mode) {
    const token = await this.tokens.token();
    const headers = {
      "content-type": "application/json",
      authorization: `Bearer ${token}`,
    };
    const signed = mode === "envelope" ? new Headers(headers) : await signRequest(
      {
        method: "POST",
        url,
        headers,
        body,
      },
      this.#options.key,
      {
        nowMs: this.#now(),
      },
    );
    const res = await (this.#options.fetch ?? fetch)(url, {
      method: "POST",
      headers: signed,
      body,
      signal: AbortSignal.timeout(this.#options.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    return {
      res,
      token,
    };
  }
  #now() {
    return (this.#options.now ?? Date.now)();
  }
};
function sameTransaction(request, answer) {
  const sent = request.message?.transaction_id;
  const got = answer.message?.transaction_id;
  return sent === void 0 || got === void 0 || sent === got;
}
export {
  AnswerVerificationError,
  buildEnvelope,
  canonicalForms,
  canonicalJson,
  componentValue,
  contentDigest,
  DciClient,
  DEFAULT_COMPONENTS,
  DEFAULT_TIMEOUT_MS,
  envelopeDigest,
  fromBase64,
  importPrivateKey,
  importPublicKey,
  MAX_SIGNATURE_WINDOW_S,
  NumberLiteral,
  parseKeepingNumberLiterals,
  parseKid,
  parseSignature,
  pemToDer,
  pkcs1ToPkcs8,
  REGISTRY_TYPES,
  searchMessage,
  senderKey,
  ServerKeys,
  sha256Base64,
  SIGNATURE_SKEW_S,
  signatureBytes,
  signBytes,
  signedEnvelope,
  signEnvelope,
  signRequest,
  toBase64,
  toJson,
  TokenClient,
  TokenError,
  utf8,
  verifyBytes,
  verifyEnvelope,
  WEBCRYPTO,
};
