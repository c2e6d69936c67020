/**
 * The bearer check: our JWT, a client still active in the database whose secret was not rotated since the token
 * was issued, an active sender, the scope.
 */
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import { type AccessClaims, TokenError, verifyAccessToken } from "./jwt.ts";
import type { BearerClientRow } from "./bearer_store.ts";
import { secretRotatedAtMs } from "../senders/clients.ts";
import { type RequestSettings, requestSettings } from "../senders/settings.ts";
import { keysStamp } from "../senders/key_store.ts";

/**
 * Who the bearer token speaks for, with what the rest of the chain needs from the sender row: its keys, limits
 * and per-request settings (signature policy and window, test mode, leniencies).
 */
export interface BearerAuth extends RequestSettings {
  clientId: string;
  senderId: string;
  scopes: string[];
  /** What the sender's key set is at (`keysStamp`): the key cache re-imports when it moves. */
  keysStamp: string;
  limits: { minute: number; day: number };
  /**
   * Present when the decision was made on a cached row: confirms, inside the admission's write, that the row is
   * still what the database holds (BearerStore.confirm).
   */
  confirm?: (memo: Map<string, string>) => boolean;
}

/** `Bearer <token>`, the scheme in any case (RFC 9110 §11.1: auth schemes are case-insensitive). */
const BEARER = /^Bearer ([\x21-\x7e]{1,4096})$/i;

/**
 * True when the token was obtained with a secret the client has rotated since. Tokens carry the rotation stamp of
 * their secret (exact to the ms); one issued before that claim existed has only `iat` (whole seconds), so it is
 * refused when issued in the rotation's second or before: it may have come from the old secret.
 */
function issuedBeforeRotation(claims: AccessClaims, row: BearerClientRow): boolean {
  const rotated = secretRotatedAtMs(row);
  if (claims.secret_rotated_at !== undefined) return claims.secret_rotated_at !== rotated;
  return rotated > 0 && claims.iat <= Math.floor(rotated / 1000);
}

/**
 * Checks the Authorization header for `scope`; throws 401/403 DciErrors. One indexed read, which also
 * reads the status of the server key that signed the token: a key retired anywhere stops its tokens at once.
 *
 * With `cached` (the registry chain, which always admits a request before any work), a client's row read by an
 * earlier request is used again where the store can confirm it in the admission's write (SQLite): the answer
 * then carries `confirm`, and the admission refuses it with StaleBearerRow when the row has changed since, so the
 * chain runs again on a fresh read. A refusal is never decided on a cached row: it is read afresh first.
 */
export async function checkBearer(
  deps: Deps,
  authorization: string | undefined,
  scope: string,
  options: { cached?: boolean } = {},
): Promise<BearerAuth> {
  const m = BEARER.exec(authorization ?? "");
  if (!m) {
    throw new DciError(
      "err.request.unauthorized",
      "A bearer token is required: Authorization: Bearer <token>",
    );
  }
  let token;
  try {
    token = await verifyAccessToken(deps, m[1]);
  } catch (err) {
    if (err instanceof TokenError) throw tokenRefused(`Invalid token: ${err.message}`);
    throw err;
  }
  const store = deps.storage.bearer;
  const { client_id: clientId } = token.claims;
  const key = `${clientId}\n${token.keyId}\n${token.keyAlg}`;
  const cached = options.cached && store.confirm ? deps.bearerRows.get(key) : undefined;
  if (cached) {
    try {
      return { ...bearerAuth(deps, token.claims, cached.row, scope), confirm: cached.confirm };
    } catch (err) {
      if (!(err instanceof DciError)) throw err;
    }
  }
  const row = await store.lookup(clientId, token.keyId, token.keyAlg);
  if (!store.confirm) return bearerAuth(deps, token.claims, row, scope);
  deps.bearerRows.delete(key);
  const auth = bearerAuth(deps, token.claims, row, scope);
  if (row) {
    deps.bearerRows.set(key, { row, confirm: store.confirm(clientId, token.keyId, token.keyAlg, row) });
  }
  return auth;
}

/**
 * The 401 of an access token presented and refused as such (expired, forged, of a retired key, a revoked client or
 * a rotated secret): its challenge says `error="invalid_token"` (RFC 6750 §3.1), so a client library fetches a new
 * token for these, and only these (a missing token, a bad signature or a disabled sender carry none).
 */
function tokenRefused(message: string): DciError {
  return new DciError("err.request.unauthorized", message, {
    headers: { "WWW-Authenticate": 'Bearer realm="dci", error="invalid_token"' },
  });
}

/** The bearer check's decision on the client's row; throws the 401/403 DciError of a refusal. */
function bearerAuth(
  deps: Deps,
  claims: AccessClaims,
  row: BearerClientRow | undefined,
  scope: string,
): BearerAuth {
  if (row && row.key_status !== "active" && row.key_status !== "published") {
    throw tokenRefused("Invalid token: access token was not signed by a key of this server");
  }
  if (!row || row.active !== 1) {
    throw tokenRefused(`Client "${claims.client_id}" is unknown or revoked`);
  }
  if (row.sender_id !== claims.sub) {
    throw tokenRefused("Token subject does not match its client's sender");
  }
  if (issuedBeforeRotation(claims, row)) {
    throw tokenRefused(
      `Invalid token: client "${claims.client_id}"'s secret was rotated after this token was issued`,
    );
  }
  if (row.sender_active !== 1) {
    throw new DciError("err.sender_id.invalid", `Sender "${row.sender_id}" is disabled`);
  }
  // The token's scopes, narrowed by the client's current scopes (a scope removed later stops at once).
  const current = new Set(row.scopes.split(" "));
  const scopes = claims.scope.split(" ").filter((s) => current.has(s));
  if (!scopes.includes(scope)) {
    throw new DciError("err.request.forbidden", `Token lacks the scope "${scope}" this endpoint requires`, {
      headers: { "WWW-Authenticate": `Bearer realm="dci", error="insufficient_scope", scope="${scope}"` },
    });
  }
  return {
    clientId: claims.client_id,
    senderId: row.sender_id,
    scopes,
    keysStamp: keysStamp(row.sender_created_at, row.keys_version),
    limits: {
      minute: row.limit_minute ?? deps.config.rateLimitMinute,
      day: row.limit_day ?? deps.config.rateLimitDay,
    },
    ...requestSettings(row, deps.config),
  };
}
