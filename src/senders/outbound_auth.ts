/**
 * How deliveries (callbacks, notifications) authenticate to a sender's receivers: none, a static bearer token,
 * or an OAuth2 client-credentials token from the sender's token URL. Tokens are fetched through the SSRF-guarded
 * client with the sender's share of the outbound slots, cached per process until shortly before they expire,
 * fetched once for concurrent deliveries, and never logged or put into an error.
 */
import { createHash } from "node:crypto";
import type { Deps } from "../deps.ts";
import { jsonObject, OutboundError } from "../net/outbound.ts";
import { openOutboundSecret } from "./outbound_secret.ts";
import type { OutboundAuthRow } from "./sender_store.ts";

/** The Authorization header to send, or why there is none (the attempt fails with it; `held`: none was made). */
export type OutboundAuthorization =
  | { ok: true; header?: string; fromCache: boolean }
  | { ok: false; permanent: boolean; error: string; held?: true };

/** Sender and origin pairs warned about at most this many per process (the origins come from requests). */
const WARNED_MAX = 1_000;

/** A token response is small; anything longer is not one. */
const TOKEN_RESPONSE_MAX_BYTES = 16_384;
/** Lifetime assumed when the token response gives no expires_in (OpenSPP's token endpoint gives none). */
const DEFAULT_TOKEN_TTL_S = 300;
/** A cached token is dropped this long before it expires, so it never expires on the wire. */
const EXPIRY_MARGIN_S = 30;
const ACCESS_TOKEN = /^[\x21-\x7e]{1,4096}$/;

interface Cached {
  fingerprint: string;
  token: string;
  expiresAtMs: number;
}

/**
 * How long after a sender's token was fetched again for a receiver's 401 no other 401 brings a new one: a receiver
 * that refuses every token (a wrong audience or scope, its own key rotation) would otherwise cost one grant at the
 * partner's token server and two POSTs per delivery.
 */
export const REFRESH_AFTER_401_MS = 60_000;

/** The per-process cache of OAuth2 tokens for senders' receivers (one service, built in openDeps). */
export class OutboundTokens {
  readonly #cache = new Map<string, Cached>();
  /** When each sender's token was last fetched again for a 401 (at most one per REFRESH_AFTER_401_MS). */
  readonly #refreshed = new Map<string, number>();
  readonly #fetching = new Map<string, Promise<OutboundAuthorization>>();
  readonly #warned = new Set<string>();

  /**
   * Logs at warn, once per sender and origin, that a delivery to `url` goes without the sender's credential
   * (credentialAllowed said no); the log names the origin, never the credential.
   */
  warnWithout(deps: Deps, senderId: string, url: string): void {
    const origin = originOf(url) ?? "(unparsable URL)";
    const key = `${senderId}\0${origin}`;
    if (this.#warned.has(key)) return;
    if (this.#warned.size >= WARNED_MAX) this.#warned.clear();
    this.#warned.add(key);
    deps.log.warn("delivery sent without the sender's outbound credential: not a registered origin", {
      sender_id: senderId,
      origin,
    });
  }

  /**
   * Whether a 401 to `senderId`'s cached token may be answered by fetching a new one now; if so, that counts as
   * this minute's refresh (REFRESH_AFTER_401_MS).
   */
  mayRefreshAfter401(senderId: string, nowMs: number): boolean {
    const last = this.#refreshed.get(senderId);
    if (last !== undefined && nowMs - last < REFRESH_AFTER_401_MS) return false;
    if (this.#refreshed.size >= 10_000) this.#refreshed.clear();
    this.#refreshed.set(senderId, nowMs);
    return true;
  }

  /**
   * The header for a delivery to `senderId` now, from its outbound authentication columns as the delivery read
   * them with the sender (`DeliverySender.outbound`; undefined: no such sender); `fresh` skips the cache (the
   * receiver refused the token).
   */
  async authorization(
    deps: Deps,
    senderId: string,
    row: OutboundAuthRow | undefined,
    options: { fresh?: boolean } = {},
  ): Promise<OutboundAuthorization> {
    if (!row || row.outbound_auth === "none" || row.outbound_secret === null) {
      return { ok: true, fromCache: false };
    }
    let secret: string;
    try {
      secret = openOutboundSecret(deps, senderId, row.outbound_secret);
    } catch {
      return {
        ok: false,
        permanent: false,
        error: "outbound credentials cannot be opened (key-encryption key)",
      };
    }
    if (row.outbound_auth === "bearer") return { ok: true, header: `Bearer ${secret}`, fromCache: false };
    const fingerprint = createHash("sha256")
      .update(
        [row.outbound_token_url, row.outbound_client_id, row.outbound_scope, row.outbound_secret].join("\0"),
      )
      .digest("base64");
    const cached = this.#cache.get(senderId);
    if (!options.fresh && cached?.fingerprint === fingerprint && cached.expiresAtMs > deps.clock.now()) {
      return { ok: true, header: `Bearer ${cached.token}`, fromCache: true };
    }
    this.#cache.delete(senderId);
    const key = `${senderId}\0${fingerprint}`;
    let pending = this.#fetching.get(key);
    if (!pending) {
      pending = this.#fetch(deps, senderId, { row, secret, fingerprint }).finally(() =>
        this.#fetching.delete(key)
      );
      this.#fetching.set(key, pending);
    }
    return await pending;
  }

  async #fetch(
    deps: Deps,
    senderId: string,
    c: { row: OutboundAuthRow; secret: string; fingerprint: string },
  ): Promise<OutboundAuthorization> {
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: c.row.outbound_client_id ?? "",
      client_secret: c.secret,
    });
    if (c.row.outbound_scope) form.set("scope", c.row.outbound_scope);
    let status: number;
    let text: string;
    try {
      const res = await deps.http.request(c.row.outbound_token_url ?? "", {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: form.toString(),
        maxBytes: TOKEN_RESPONSE_MAX_BYTES,
        sender: senderId,
      });
      status = res.status;
      text = res.text();
    } catch (err) {
      if (!(err instanceof OutboundError)) {
        return { ok: false, permanent: false, error: "token URL: network" };
      }
      const permanent = err.reason === "blocked" || err.reason === "invalid_url";
      const error = `token URL ${err.reason}: ${err.message}`;
      // No outbound slot came free in time: no request was made, so the delivery made no attempt either.
      if (err.reason === "busy") return { ok: false, permanent: false, error, held: true };
      return { ok: false, permanent, error };
    }
    // Only the status is ever reported: the token endpoint's body may echo credentials.
    if (status !== 200) return { ok: false, permanent: false, error: `token URL answered HTTP ${status}` };
    const token = parseTokenResponse(text);
    if (!token) {
      return {
        ok: false,
        permanent: false,
        error: "token URL answered 200 without a usable bearer access_token",
      };
    }
    const ttl = Math.max(1, token.expiresIn - Math.min(EXPIRY_MARGIN_S, Math.floor(token.expiresIn / 10)));
    this.#cache.set(senderId, {
      fingerprint: c.fingerprint,
      token: token.accessToken,
      expiresAtMs: deps.clock.now() + ttl * 1000,
    });
    deps.log.info("outbound access token obtained", { sender_id: senderId, expires_in: token.expiresIn });
    return { ok: true, header: `Bearer ${token.accessToken}`, fromCache: false };
  }
}

/**
 * Whether a delivery to `url` may carry the sender's receiver credential: only to an origin the operator
 * registered for the sender, its callback base URL's (`callbackBase`), and for an OAuth2 token also its token
 * URL's (the token's issuer has it already). A request's header.sender_uri, used when no callback URL is
 * registered, names any host the request likes: a credential sent there would let that host act as this server
 * toward the sender's receivers.
 */
export function credentialAllowed(url: string, row: OutboundAuthRow, callbackBase: string | null): boolean {
  const origin = originOf(url);
  if (origin === undefined) return false;
  if (callbackBase !== null && origin === originOf(callbackBase)) return true;
  return row.outbound_auth === "oauth2" && row.outbound_token_url !== null &&
    origin === originOf(row.outbound_token_url);
}

/** The origin of `url` (scheme, host, port), or undefined when it does not parse. */
function originOf(url: string): string | undefined {
  try {
    const origin = new URL(url).origin;
    // An opaque origin ("null": not http(s)) matches nothing, not another opaque one.
    return origin === "null" ? undefined : origin;
  } catch {
    return undefined;
  }
}

/** access_token and expires_in from an RFC 6749 §5.1 response, or undefined when it is not one. */
function parseTokenResponse(text: string): { accessToken: string; expiresIn: number } | undefined {
  const body = jsonObject(text);
  if (!body) return undefined;
  const { access_token: at, token_type: type, expires_in: exp } = body;
  if (typeof at !== "string" || !ACCESS_TOKEN.test(at)) return undefined;
  if (type !== undefined && (typeof type !== "string" || type.toLowerCase() !== "bearer")) return undefined;
  const n = typeof exp === "string" ? Number(exp) : exp;
  const expiresIn = typeof n === "number" && Number.isFinite(n) && n > 0
    ? Math.min(Math.floor(n), 86_400)
    : DEFAULT_TOKEN_TTL_S;
  return { accessToken: at, expiresIn };
}
