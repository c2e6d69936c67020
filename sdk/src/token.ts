/**
 * OAuth2 client credentials (RFC 6749 §4.4) against the server's `POST /oauth2/client/token`: the token is cached
 * and fetched again shortly before it expires; concurrent callers share one request.
 */
import { DEFAULT_TIMEOUT_MS } from "./jwks.ts";

/** A refused or failed token request (`error` is the RFC 6749 §5.2 code when the server sent one). */
export class TokenError extends Error {
  /** `retryAfter` is in seconds (429 and 503 carry it). */
  constructor(
    message: string,
    readonly status: number,
    readonly error?: string,
    readonly retryAfter?: number,
  ) {
    super(message);
    this.name = "TokenError";
  }
}

/** Where and as whom to get tokens. */
export interface TokenOptions {
  /** `http://host:port/oauth2/client/token` */
  tokenUrl: string;
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

// RFC 6749 §2.3.1: the id and secret are form-encoded before they go into HTTP Basic.
function formEncode(s: string): string {
  return encodeURIComponent(s).replace(/%20/g, "+");
}

/** Gets and caches access tokens for one client. */
export class TokenClient {
  #cached: { token: string; refreshAt: number } | undefined;
  #pending: Promise<string> | undefined;
  // A private field, not a property: the client secret never shows in console.log or JSON.stringify of a client.
  readonly #options: TokenOptions;
  /** How many tokens this client has fetched (what a test of the cache counts). */
  fetched = 0;

  constructor(options: TokenOptions) {
    this.#options = options;
  }

  /** A valid access token: the cached one, or a new one when it is about to expire. */
  token(): Promise<string> {
    const now = this.#now();
    if (this.#cached && now < this.#cached.refreshAt) {
      return Promise.resolve(this.#cached.token);
    }
    this.#pending ??= this.#fetch().finally(() => this.#pending = undefined);
    return this.#pending;
  }

  /**
   * Forgets the cached token after a 401 (the client was rotated or the server's key retired). Pass the token the
   * server refused: a newer one fetched since (by another request's 401) is kept, so that late 401s of requests
   * still in flight do not fetch one token each.
   */
  invalidate(rejected?: string): void {
    if (rejected === undefined || this.#cached?.token === rejected) this.#cached = undefined;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  async #fetch(): Promise<string> {
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
        ...(o.scope ? { scope: o.scope } : {}),
      }),
    });
    const text = await res.text();
    let body: {
      access_token?: unknown;
      expires_in?: unknown;
      error?: string;
      error_description?: string;
    } = {};
    try {
      body = JSON.parse(text);
    } catch {
      // not JSON: reported below with the status
    }
    if (res.status !== 200 || typeof body.access_token !== "string") {
      const retry = Number(res.headers.get("retry-after") ?? NaN);
      throw new TokenError(
        `token request failed: HTTP ${res.status} ${body.error ?? ""} ${body.error_description ?? ""}`.trim(),
        res.status,
        body.error,
        Number.isFinite(retry) ? retry : undefined,
      );
    }
    const lifetime = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 60;
    const margin = Math.min(o.refreshMarginSeconds ?? 60, lifetime / 2);
    this.fetched++;
    this.#cached = {
      token: body.access_token,
      refreshAt: started + (lifetime - margin) * 1000,
    };
    return body.access_token;
  }
}
