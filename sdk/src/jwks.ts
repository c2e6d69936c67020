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

/** How long a request of the SDK waits for an answer unless told otherwise (ms). */
export const DEFAULT_TIMEOUT_MS = 30_000;

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
export type ServerVerification =
  | {
    ok: true;
    params: SignatureParams;
    envelope: Signable & { signature: string };
  }
  | {
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
  /** Your sender id: `header.receiver_id`, when the envelope names one, must be it (dci-server always names it). */
  receiverId?: string;
  /** The `header.action` values this endpoint takes (e.g. `["notify"]` at a notify URL). */
  actions?: readonly string[];
}

/** The server's signing keys, cached by kid. */
export class ServerKeys {
  #keys = new Map<string, CryptoKey>();
  #fetchedAt = -Infinity;
  /** When the last fetch was tried, whatever came of it: a failed one is not tried again at once. */
  #triedAt = -Infinity;
  #pending: Promise<void> | undefined;
  readonly #options: ServerKeysOptions;
  /** How many times the JWKS was fetched. */
  fetched = 0;

  constructor(options: ServerKeysOptions) {
    this.#options = options;
  }

  /**
   * The public key of `kid` (`{server_id}|{key_id}|{alg}`), fetching the JWKS when stale or the kid is new. When
   * that fetch fails, a key already held is still used (a server restarting past the hour must not fail every
   * answer); the error is thrown only when the kid is not held.
   */
  async key(kid: string): Promise<CryptoKey | undefined> {
    const now = this.#now();
    const o = this.#options;
    const stale = now - this.#fetchedAt > (o.maxAgeSeconds ?? 3600) * 1000;
    const mayRefetch = now - this.#triedAt >= (o.minRefetchSeconds ?? 30) * 1000;
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
  refresh(): Promise<void> {
    this.#triedAt = this.#now();
    this.#pending ??= this.#load().finally(() => this.#pending = undefined);
    return this.#pending;
  }

  /** Verifies a parsed server envelope; pass the text it was parsed from as `sourceText` when you have it. */
  async verify(
    envelope: Signable & { signature?: unknown },
    options: { sourceText?: string } = {},
  ): Promise<ServerVerification> {
    let otherServer = false;
    const serverId = this.#options.serverId;
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

  /**
   * Verifies a body as received (a sync answer, a callback, a notification), and that it is what `expected` says:
   * addressed to you (`receiverId`: without it a partner could forward you what the server signed for it) and one
   * of the actions the endpoint takes. Read the body with a size cap first; a retried callback or notification
   * comes again with the same `header.message_id`, so process each message id once.
   */
  async verifyText(text: string, expected: ExpectedEnvelope = {}): Promise<ServerVerification> {
    let envelope: Signable & { signature?: unknown };
    try {
      envelope = JSON.parse(text);
    } catch {
      return { ok: false, reason: "not_json" };
    }
    if (!envelope || typeof envelope !== "object") return { ok: false, reason: "not_json" };
    const v = await this.verify(envelope, { sourceText: text });
    if (!v.ok) return v;
    const header = (v.envelope.header ?? {}) as { receiver_id?: unknown; action?: unknown };
    // A server that names no receiver (dci-server always does, inside what it signs) is not held to one.
    if (
      expected.receiverId !== undefined && header.receiver_id !== undefined &&
      header.receiver_id !== expected.receiverId
    ) {
      return { ok: false, reason: "other_receiver" };
    }
    if (expected.actions && !expected.actions.includes(String(header.action))) {
      return { ok: false, reason: "other_action" };
    }
    return v;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  async #load(): Promise<void> {
    const o = this.#options;
    const res = await (o.fetch ?? fetch)(o.jwksUrl, {
      headers: { accept: "application/json" },
      signal: AbortSignal.timeout(o.timeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      throw new Error(`JWKS fetch from ${o.jwksUrl} failed: HTTP ${res.status}`);
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
