/**
 * Access tokens: JWTs (RFC 9068, `typ: at+jwt`) signed with the server's active key (EdDSA or RS256), so they
 * verify against our JWKS. `jose` does the JWS work: the algorithm allowlist, the `typ` and `crit` checks,
 * the registered claims. Our own checks run on top, on every use: the key must still be one of ours (its status
 * is read from SQLite, so a retired key stops at once), the alg must be the key's own, the lifetime and the
 * claims the bearer check needs.
 */
import { randomUUID } from "node:crypto";
import { errors, jwtVerify, type JWTVerifyOptions, SignJWT } from "jose";
import type { Deps } from "../deps.ts";
import { publicBaseUrl } from "../config.ts";
import type { KeyAlg } from "../keys/server_keys.ts";
import type { SignedToken } from "./token_cache.ts";

/** The claims our access tokens carry. */
export interface AccessClaims {
  iss: string;
  aud: string;
  sub: string;
  client_id: string;
  scope: string;
  iat: number;
  exp: number;
  jti: string;
  /**
   * When the client's secret this token was obtained with was set: its `secret_rotated_at` in ms, 0 when never
   * rotated. The bearer check refuses the token once the client's secret has been rotated since (exact to the ms,
   * where `iat` has seconds only). Absent from tokens issued before the claim existed.
   */
  secret_rotated_at?: number;
}

/** Why a token was refused (the message is safe to return; it never echoes the token). */
export class TokenError extends Error {}

/** The issuer and audience of our tokens. */
export function tokenIssuer(deps: Deps): { iss: string; aud: string } {
  return { iss: publicBaseUrl(deps.config), aud: deps.config.senderId };
}

/** The JWS alg each server key type signs with; nothing else is ever accepted. */
const JWS_ALG: Record<KeyAlg, "EdDSA" | "RS256"> = { ed25519: "EdDSA", "rsa-sha256": "RS256" };
const TYP = "at+jwt";
const REQUIRED_CLAIMS = ["iss", "aud", "sub", "exp", "iat", "jti", "client_id", "scope"];

/**
 * Signs an access token for a client of a sender with the active server key; `secretRotatedAt` (ms, 0 when never
 * rotated) is when the client's secret that authenticated was set (the token endpoint always passes it).
 */
export async function issueAccessToken(
  deps: Deps,
  input: { senderId: string; clientId: string; scopes: string[]; secretRotatedAt?: number },
): Promise<{ token: string; claims: AccessClaims }> {
  const key = await deps.keys.fresh();
  const iat = Math.floor(deps.clock.now() / 1000);
  const claims: AccessClaims = {
    ...tokenIssuer(deps),
    sub: input.senderId,
    client_id: input.clientId,
    scope: input.scopes.join(" "),
    iat,
    exp: iat + deps.config.tokenTtlSeconds,
    jti: randomUUID(),
    ...(input.secretRotatedAt === undefined ? {} : { secret_rotated_at: input.secretRotatedAt }),
  };
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ alg: JWS_ALG[key.alg], typ: TYP, kid: key.kid })
    .sign(key.signingKey);
  return { token, claims };
}

/** A verified access token: its claims and the server key that signed it. */
export interface VerifiedToken {
  claims: AccessClaims;
  keyId: string;
  keyAlg: KeyAlg;
}

/**
 * Verifies an access token: on first sight its signature with jose (the key's status read from SQLite), then
 * issuer, audience, lifetime and claims on every call. A token seen before (`deps.tokenCache`) skips the
 * signature, and its key's status is left to the caller: checkBearer reads it in the same statement as the
 * client (a subquery, ~1 µs, where a read of its own costs ~8 µs per request), so a key retired by any process
 * stops at once.
 */
export async function verifyAccessToken(deps: Deps, token: string): Promise<VerifiedToken> {
  const signed = await deps.tokenCache.verify(token, () => verifySignature(deps, token));
  return { claims: checkClaims(deps, signed.claims), keyId: signed.keyId, keyAlg: signed.keyAlg };
}

async function verifySignature(deps: Deps, token: string): Promise<SignedToken> {
  const { iss, aud } = tokenIssuer(deps);
  const options: JWTVerifyOptions = {
    algorithms: Object.values(JWS_ALG),
    typ: TYP,
    issuer: iss,
    audience: aud,
    requiredClaims: REQUIRED_CLAIMS,
    currentDate: new Date(deps.clock.now()),
    // Issuer and verifier are this server on one clock: expiry is exact (checkClaims allows 60 s for iat).
    clockTolerance: 0,
  };
  let key: { keyId: string; alg: KeyAlg } | undefined;
  try {
    const { payload } = await jwtVerify(token, async (header) => {
      const found = typeof header.kid === "string" ? await deps.keys.verificationKey(header.kid) : undefined;
      if (!found) throw new TokenError("access token was not signed by a key of this server");
      // The allowlist admits both algs; a token must use the one of the key its kid names.
      if (header.alg !== JWS_ALG[found.alg]) {
        throw new TokenError(`access token alg "${String(header.alg).slice(0, 20)}" is not allowed`);
      }
      key = found;
      return found.cryptoKey;
    }, options);
    return { keyId: key!.keyId, keyAlg: key!.alg, claims: payload as Partial<AccessClaims> };
  } catch (err) {
    throw tokenError(err);
  }
}

/** Maps a jose (or our own) error to a TokenError whose message names the failed check, never the token. */
function tokenError(err: unknown): TokenError {
  if (err instanceof TokenError) return err;
  if (err instanceof errors.JWTExpired) return new TokenError("access token has expired");
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === "iss") return new TokenError("access token issuer is not this server");
    if (err.claim === "aud") return new TokenError("access token audience is not this server");
    if (err.claim === "typ") return new TokenError(`access token typ is not "${TYP}"`);
    return new TokenError(`access token claim "${err.claim.slice(0, 20)}" is missing or invalid`);
  }
  if (err instanceof errors.JOSEAlgNotAllowed) return new TokenError("access token alg is not allowed");
  if (err instanceof errors.JWSSignatureVerificationFailed) {
    return new TokenError("access token signature is invalid");
  }
  if (
    (err instanceof errors.JWSInvalid || err instanceof errors.JOSENotSupported) &&
    /crit|Extension Header/i.test(err.message)
  ) {
    return new TokenError("access token has a critical header parameter this server does not understand");
  }
  if (err instanceof errors.JOSEError || err instanceof TypeError) {
    return new TokenError("access token is not a JWT");
  }
  throw err;
}

function checkClaims(deps: Deps, claims: Partial<AccessClaims>): AccessClaims {
  const { iss, aud } = tokenIssuer(deps);
  if (claims.iss !== iss) throw new TokenError("access token issuer is not this server");
  if (claims.aud !== aud) throw new TokenError("access token audience is not this server");
  const now = Math.floor(deps.clock.now() / 1000);
  if (typeof claims.exp !== "number" || now >= claims.exp) throw new TokenError("access token has expired");
  if (typeof claims.iat === "number" && claims.iat > now + 60) {
    throw new TokenError("access token is not valid yet");
  }
  if (
    typeof claims.client_id !== "string" || typeof claims.sub !== "string" || typeof claims.scope !== "string"
  ) {
    throw new TokenError("access token lacks client_id, sub or scope");
  }
  if (claims.secret_rotated_at !== undefined && !Number.isSafeInteger(claims.secret_rotated_at)) {
    throw new TokenError('access token claim "secret_rotated_at" is invalid');
  }
  return claims as AccessClaims;
}
