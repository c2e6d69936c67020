/**
 * The server's public keys from its JWKS (`/.well-known/jwks.json`), to verify its signed answers, callbacks and
 * notifications: fetched once, kept for `maxAgeSeconds`, and fetched again when a signature names a kid it does
 * not hold (after a key rotation), at most once per `minRefetchSeconds`.
 */
import {
  type Signable,
  type SignatureFailure,
  type SignatureParams,
  verifyEnvelope,
} from "./envelope_signature.ts";
import { importPublicKey } from "./keys.ts";

/** How to reach and cache the JWKS. */
export interface ServerKeysOptions {
  jwksUrl: string;
  /** Refuse signatures whose kid names another server (the server's DCI_SENDER_ID, e.g. `dci-server`). */
  serverId?: string;
  /** Keep the fetched keys this long (default 3600 s). */
  maxAgeSeconds?: number;
  /** Fetch again for an unknown kid at most this often (default 30 s). */
  minRefetchSeconds?: number;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The outcome of verifying a server envelope; `envelope` is the parsed body when there was one. */
export type ServerVerification =
  | {
    ok: true;
    params: SignatureParams;
    envelope: Signable & { signature: string };
  }
  | { ok: false; reason: SignatureFailure | "not_json" | "other_server" };

/** The server's signing keys, cached by kid. */
export class ServerKeys {
  #keys = new Map<string, CryptoKey>();
  #fetchedAt = -Infinity;
  #pending: Promise<void> | undefined;
  /** How many times the JWKS was fetched. */
  fetched = 0;

  constructor(private options: ServerKeysOptions) {}

  /** The public key of `kid` (`{server_id}|{key_id}|{alg}`), fetching the JWKS when stale or the kid is new. */
  async key(kid: string): Promise<CryptoKey | undefined> {
    const now = this.#now();
    const o = this.options;
    const stale = now - this.#fetchedAt > (o.maxAgeSeconds ?? 3600) * 1000;
    const mayRefetch = now - this.#fetchedAt >= (o.minRefetchSeconds ?? 30) * 1000;
    if (stale || (!this.#keys.has(kid) && mayRefetch)) await this.refresh();
    return this.#keys.get(kid);
  }

  /** Fetches the JWKS now (concurrent callers share the request); a failed fetch keeps the old keys. */
  refresh(): Promise<void> {
    this.#pending ??= this.#load().finally(() => this.#pending = undefined);
    return this.#pending;
  }

  /** Verifies a parsed server envelope; pass the text it was parsed from as `sourceText` when you have it. */
  async verify(
    envelope: Signable & { signature?: unknown },
    options: { sourceText?: string } = {},
  ): Promise<ServerVerification> {
    let otherServer = false;
    const serverId = this.options.serverId;
    const result = await verifyEnvelope(envelope, {
      nowMs: this.#now(),
      sourceText: options.sourceText,
      resolveKey: (p) => {
        otherServer = serverId !== undefined && p.senderId !== serverId;
        return otherServer ? undefined : this.key(p.kid);
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
      envelope: envelope as Signable & { signature: string },
    };
  }

  /** Verifies a body as received (a sync answer, a callback, a notification). */
  verifyText(text: string): Promise<ServerVerification> {
    let envelope: Signable & { signature?: unknown };
    try {
      envelope = JSON.parse(text);
    } catch {
      return Promise.resolve({ ok: false, reason: "not_json" });
    }
    if (!envelope || typeof envelope !== "object") {
      return Promise.resolve({ ok: false, reason: "not_json" });
    }
    return this.verify(envelope, { sourceText: text });
  }

  #now(): number {
    return (this.options.now ?? Date.now)();
  }

  async #load(): Promise<void> {
    const res = await (this.options.fetch ?? fetch)(this.options.jwksUrl, {
      headers: { accept: "application/json" },
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(
        `JWKS fetch from ${this.options.jwksUrl} failed: HTTP ${res.status}`,
      );
    }
    const doc = await res.json() as {
      keys?: Array<JsonWebKey & { kid?: string }>;
    };
    const keys = new Map<string, CryptoKey>();
    for (const jwk of Array.isArray(doc.keys) ? doc.keys : []) {
      if (typeof jwk.kid !== "string") continue;
      try {
        keys.set(jwk.kid, (await importPublicKey(jwk)).key);
      } catch {
        // a key type this SDK does not use: skip it rather than refuse the whole set
      }
    }
    this.#keys = keys;
    this.#fetchedAt = this.#now();
    this.fetched++;
  }
}
