/**
 * Access tokens: compact JWS (EdDSA or RS256) signed with the server's active key, so they verify against our
 * JWKS. node:crypto does the work; public keys are imported once and cached per kid.
 */
import { createPublicKey, type KeyObject, randomUUID, sign, verify } from "node:crypto";
import { Buffer } from "node:buffer";
import type { Deps } from "../deps.ts";
import { publicBaseUrl } from "../config.ts";

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
}

/** Why a token was refused (the message is safe to return; it never echoes the token). */
export class TokenError extends Error {}

/** The issuer and audience of our tokens. */
export function tokenIssuer(deps: Deps): { iss: string; aud: string } {
  return { iss: publicBaseUrl(deps.config), aud: deps.config.senderId };
}

function b64url(data: string | Uint8Array): string {
  return Buffer.from(data).toString("base64url");
}

/** Signs an access token for a client of a sender with the active server key. */
export function issueAccessToken(
  deps: Deps,
  input: { senderId: string; clientId: string; scopes: string[] },
): { token: string; claims: AccessClaims } {
  const key = deps.keys.active();
  const iat = Math.floor(deps.clock.now() / 1000);
  const claims: AccessClaims = {
    ...tokenIssuer(deps),
    sub: input.senderId,
    client_id: input.clientId,
    scope: input.scopes.join(" "),
    iat,
    exp: iat + deps.config.tokenTtlSeconds,
    jti: randomUUID(),
  };
  const header = { alg: key.alg === "ed25519" ? "EdDSA" : "RS256", typ: "at+jwt", kid: key.kid };
  const input64 = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(claims))}`;
  const sig = sign(key.alg === "ed25519" ? null : "sha256", Buffer.from(input64), key.privateKey);
  return { token: `${input64}.${b64url(sig)}`, claims };
}

const CACHES = new WeakMap<Deps, { at: number; keys: Map<string, KeyObject> }>();

function serverKey(deps: Deps, kid: string): KeyObject | undefined {
  const now = deps.clock.now();
  let cache = CACHES.get(deps);
  // Reload on a miss (a rotation elsewhere) at most once a second, and every 30 s so retired keys drop out.
  if (!cache || now - cache.at > 30_000 || (!cache.keys.has(kid) && now - cache.at > 1000)) {
    const keys = new Map<string, KeyObject>();
    for (const jwk of deps.keys.jwks().keys) {
      const { kid: k, use: _u, alg: _a, ...material } = jwk;
      keys.set(k, createPublicKey({ key: material as import("node:crypto").JsonWebKey, format: "jwk" }));
    }
    cache = { at: now, keys };
    CACHES.set(deps, cache);
  }
  return cache.keys.get(kid);
}

/** Tokens whose signature verified, per deps: token text → its kid and claims (the bytes cannot change). */
const VERIFIED = new WeakMap<Deps, Map<string, { kid: string; claims: Partial<AccessClaims> }>>();
const VERIFIED_MAX = 10_000;

/** Verifies an access token's signature, issuer, audience and lifetime; returns its claims or throws. */
export function verifyAccessToken(deps: Deps, token: string): AccessClaims {
  let cache = VERIFIED.get(deps);
  if (!cache) VERIFIED.set(deps, cache = new Map());
  const hit = cache.get(token);
  // A token verified before skips the signature check while its key is still one of ours; every claim
  // check (lifetime, issuer, audience) runs again below.
  if (hit && serverKey(deps, hit.kid)) return checkClaims(deps, hit.claims);
  const { kid, claims } = verifySignature(deps, token);
  if (cache.size >= VERIFIED_MAX) cache.clear();
  const checked = checkClaims(deps, claims);
  cache.set(token, { kid, claims });
  return checked;
}

function verifySignature(deps: Deps, token: string): { kid: string; claims: Partial<AccessClaims> } {
  const parts = token.split(".");
  if (parts.length !== 3 || parts.some((p) => !/^[A-Za-z0-9_-]+$/.test(p))) {
    throw new TokenError("access token is not a JWT");
  }
  let header: { alg?: string; kid?: string };
  let claims: Partial<AccessClaims>;
  try {
    header = JSON.parse(Buffer.from(parts[0], "base64url").toString("utf8"));
    claims = JSON.parse(Buffer.from(parts[1], "base64url").toString("utf8"));
  } catch {
    throw new TokenError("access token is not a JWT");
  }
  const key = typeof header.kid === "string" ? serverKey(deps, header.kid) : undefined;
  if (!key) throw new TokenError("access token was not signed by a key of this server");
  const expectedAlg = key.asymmetricKeyType === "ed25519" ? "EdDSA" : "RS256";
  if (header.alg !== expectedAlg) throw new TokenError(`access token alg "${header.alg}" is not allowed`);
  const ok = verify(
    expectedAlg === "EdDSA" ? null : "sha256",
    Buffer.from(`${parts[0]}.${parts[1]}`),
    key,
    Buffer.from(parts[2], "base64url"),
  );
  if (!ok) throw new TokenError("access token signature is invalid");
  return { kid: header.kid as string, claims };
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
  return claims as AccessClaims;
}
