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

/** The Authorization header to send, or why there is none to send (the delivery attempt fails with it). */
export type OutboundAuthorization =
  | { ok: true; header?: string; fromCache: boolean }
  | { ok: false; permanent: boolean; error: string };

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

/** The per-process cache of OAuth2 tokens for senders' receivers (one service, built in openDeps). */
export class OutboundTokens {
  readonly #cache = new Map<string, Cached>();
  readonly #fetching = new Map<string, Promise<OutboundAuthorization>>();

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
      return { ok: false, permanent, error: `token URL ${err.reason}: ${err.message}` };
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
