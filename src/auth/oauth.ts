/**
 * OAuth2 client credentials (RFC 6749 §4.4) at POST /oauth2/client/token and /dci_api/v1/oauth2/client/token.
 * Credentials by HTTP Basic, form body or JSON body; errors as RFC 6749 §5.2. A per-IP limit (client IPs through
 * trusted proxies, IPv6 by /64), a per-client-id lockout after failed attempts, a bound on concurrent secret
 * hashes and a cache of verified credentials keep a flood of bad requests from starving real clients.
 */
import type { Context } from "hono";
import { OpenAPIHono } from "@hono/zod-openapi";
import { Buffer } from "node:buffer";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { issueAccessToken } from "./jwt.ts";
import { authenticateClient, type ClientAuthResult, secretRotatedAtMs } from "../senders/clients.ts";
import { ipLimitKey } from "../net/client_address.ts";
import { tokenRoute } from "./oauth_openapi.ts";
import { TOKEN_NO_STORE, TOKEN_PATHS, tokenErrorBody, tokenErrorHeaders } from "./token_paths.ts";

type OAuthError = "invalid_request" | "invalid_client" | "unsupported_grant_type" | "invalid_scope";

function oauthError(c: Context<AppEnv>, error: OAuthError, description: string): Response {
  const status = error === "invalid_client" ? 401 : 400;
  return c.json(tokenErrorBody(error, description), status, tokenErrorHeaders(status));
}

/** A refused client authentication: 401, or 429 (client id locked) / 503 (hash queue full) with Retry-After. */
function authFailure(
  deps: Deps,
  c: Context<AppEnv>,
  auth: Exclude<ClientAuthResult, { ok: true }>,
) {
  deps.metrics.inc("dci_token_refusals_total", "Token requests refused after reading the credentials", {
    reason: auth.reason,
  });
  if (auth.reason === "invalid") {
    return oauthError(c, "invalid_client", "client authentication failed");
  }
  const headers = tokenErrorHeaders(429, { "Retry-After": String(auth.retryAfter) });
  if (auth.reason === "locked") {
    const description = "Too many failed attempts for this client; retry later";
    return c.json(tokenErrorBody("invalid_client", description), 429, headers);
  }
  const description = "The server is busy checking other credentials; retry shortly";
  return c.json(tokenErrorBody("temporarily_unavailable", description), 503, headers);
}

/**
 * The request's parameters from a form or JSON body. A parameter sent without a value is left out, as if omitted
 * (RFC 6749 §3.1); in JSON one of the token request's own parameters must be a string (a `scope` list sent as an
 * array is refused, not read as absent, which would grant every scope of the client), others are ignored.
 */
async function readParams(c: Context<AppEnv>): Promise<Record<string, string> | string> {
  const type = (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
  const text = await c.req.text();
  const out: Record<string, string> = {};
  if (type === "application/x-www-form-urlencoded" || (type === "" && text === "")) {
    // Counted before parsing: a body of thousands of one-letter pairs costs no URLSearchParams.
    if (separators(text) >= MAX_PARAMS) return TOO_MANY;
    for (const [k, v] of new URLSearchParams(text)) {
      // RFC 6749 §3.2: a parameter is sent at most once (which of two would count is anyone's guess).
      if (Object.hasOwn(out, k)) return `parameter ${JSON.stringify(k.slice(0, 64))} is repeated`;
      out[k] = v;
    }
    for (const [k, v] of Object.entries(out)) if (v === "") delete out[k];
    return capped(out);
  }
  if (type === "application/json") {
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return "body is not valid JSON";
    }
    if (!body || typeof body !== "object" || Array.isArray(body)) return "body must be a JSON object";
    if (Object.keys(body).length > MAX_PARAMS) return TOO_MANY;
    // As in a form (RFC 6749 §3.2): JSON.parse keeps the last of a repeated name, which the sender may not mean.
    const repeated = repeatedKey(text);
    if (repeated !== undefined) return `parameter ${JSON.stringify(repeated.slice(0, 64))} is repeated`;
    for (const [k, v] of Object.entries(body)) {
      if (typeof v === "string") {
        if (v !== "") out[k] = v;
      } else if (TOKEN_PARAMS.has(k) && v !== null) return `parameter ${JSON.stringify(k)} must be a string`;
    }
    return capped(out);
  }
  return `Content-Type "${type}" is not supported (form or JSON)`;
}

/** The client credentials request's own parameters (RFC 6749 §4.4.2, §2.3.1). */
const TOKEN_PARAMS = new Set(["grant_type", "scope", "client_id", "client_secret"]);

/** Most parameters in a token request (it needs at most five: grant type, scope, client id and secret). */
const MAX_PARAMS = 32;

const TOO_MANY = `the request has more than ${MAX_PARAMS} parameters`;

/** The `&` separators in a form body, counted up to MAX_PARAMS. */
function separators(text: string): number {
  let n = 0;
  for (let i = text.indexOf("&"); i >= 0 && n < MAX_PARAMS; i = text.indexOf("&", i + 1)) n++;
  return n;
}

/**
 * The first name a JSON object `text` (valid JSON, at most 8 KiB) gives twice at its top level, if any: a scan of
 * its strings and nesting, each top-level name decoded by JSON.parse.
 */
function repeatedKey(text: string): string | undefined {
  const seen = new Set<string>();
  let depth = 0;
  let expectKey = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '"') {
      let j = i + 1;
      while (text[j] !== '"') j += text[j] === "\\" ? 2 : 1;
      if (depth === 1 && expectKey) {
        const key = JSON.parse(text.slice(i, j + 1)) as string;
        if (seen.has(key)) return key;
        seen.add(key);
        expectKey = false;
      }
      i = j;
    } else if (c === "{" || c === "[") {
      depth++;
      expectKey = depth === 1;
    } else if (c === "}" || c === "]") depth--;
    else if (c === "," && depth === 1) expectKey = true;
  }
  return undefined;
}

/** Longest token request parameter (client ids, secrets and scope lists are far shorter). */
const MAX_PARAM = 1024;

/** The parameters, or a refusal naming the first one over MAX_PARAM characters. */
function capped(params: Record<string, string>): Record<string, string> | string {
  const long = Object.entries(params).find(([k, v]) => k.length > MAX_PARAM || v.length > MAX_PARAM);
  return long ? `parameter "${long[0].slice(0, 50)}" is longer than ${MAX_PARAM} characters` : params;
}

/** A client's id and secret. */
interface Credentials {
  id: string;
  secret: string;
}

/**
 * client_id and secret from HTTP Basic (RFC 6749 §2.3.1: form-urlencoded inside) or the body; undefined when
 * missing or malformed, a refusal when the request uses both (§2.3: a client MUST NOT use more than one method).
 * A body client_id beside Basic is not a second method (§3.2.1: it only identifies the client), so it is allowed
 * when it names the Basic client.
 */
function credentials(
  header: string | undefined,
  params: Record<string, string>,
): Credentials | string | undefined {
  if (!header) {
    if (!params.client_id || !params.client_secret) return undefined;
    return { id: params.client_id, secret: params.client_secret };
  }
  const basic = basicCredentials(header);
  if (!basic) return undefined;
  // The same credentials twice (some client libraries send both) are one client's; any other pair is two
  // methods naming different things (RFC 6749 §2.3: one method a request).
  if (Object.hasOwn(params, "client_secret") && params.client_secret !== basic.secret) {
    return "use one client authentication method, not HTTP Basic and the body";
  }
  if (Object.hasOwn(params, "client_id") && params.client_id !== basic.id) {
    return "the body's client_id is not the client of the HTTP Basic credentials";
  }
  return basic;
}

/** The client id and secret of an `Authorization: Basic` header (scheme in any case, RFC 9110 §11.1). */
function basicCredentials(header: string): Credentials | undefined {
  if (header.length > 4 * MAX_PARAM) return undefined;
  const m = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1], "base64").toString("utf8");
  const i = decoded.indexOf(":");
  if (i < 0) return undefined;
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, i).replace(/\+/g, " ")),
      secret: decodeURIComponent(decoded.slice(i + 1).replace(/\+/g, " ")),
    };
  } catch {
    return undefined;
  }
}

/** Longest client id and secret looked at: ours are 17 and 48 characters; longer ones fail unhashed. */
const MAX_ID = 128;
const MAX_SECRET = 512;

/** The token routes and their OpenAPI description; mount with `app.route("/", oauthRoutes(deps))`. */
export function oauthRoutes(deps: Deps): OpenAPIHono<AppEnv> {
  const app = new OpenAPIHono<AppEnv>();
  for (const path of TOKEN_PATHS) {
    app.openAPIRegistry.registerPath(tokenRoute(path));
    app.post(path, (c) => tokenHandler(deps, c));
  }
  return app;
}

async function tokenHandler(deps: Deps, c: Context<AppEnv>): Promise<Response> {
  // Per client IP (through trusted proxies only), IPv6 by /64: one host holds a whole /64.
  const ipKey = ipLimitKey(c.get("clientIp") ?? "unknown");
  const limit = await deps.storage.limits.takeIpRequest(
    ipKey,
    deps.config.tokenIpLimitPerMinute,
    deps.clock.now(),
  );
  if (!limit.allowed) {
    return c.json(
      tokenErrorBody("invalid_request", "Too many token requests; slow down"),
      429,
      tokenErrorHeaders(429, { "Retry-After": String(limit.retryAfter) }),
    );
  }
  const params = await readParams(c);
  if (typeof params === "string") return oauthError(c, "invalid_request", params);
  if (!params.grant_type) return oauthError(c, "invalid_request", "grant_type is required");
  if (params.grant_type !== "client_credentials") {
    return oauthError(
      c,
      "unsupported_grant_type",
      `grant_type "${params.grant_type.slice(0, 50)}" is not supported`,
    );
  }
  const creds = credentials(c.req.header("authorization"), params);
  if (typeof creds === "string") return oauthError(c, "invalid_request", creds);
  if (!creds) return oauthError(c, "invalid_client", "client authentication is missing or malformed");
  const auth: ClientAuthResult = creds.id.length > MAX_ID || creds.secret.length > MAX_SECRET
    ? { ok: false, reason: "invalid" }
    : await authenticateClient(deps, creds.id, creds.secret, c.get("clientIp") ?? "unknown");
  if (!auth.ok) return authFailure(deps, c, auth);
  const client = auth.client;
  const requested = params.scope === undefined ? client.scopes : params.scope.split(" ").filter(Boolean);
  if (requested.length === 0) return oauthError(c, "invalid_scope", "scope names no scope");
  const extra = requested.find((s) => !client.scopes.includes(s));
  if (extra) {
    return oauthError(c, "invalid_scope", `scope "${extra.slice(0, 50)}" is not granted to this client`);
  }
  const { token } = await issueAccessToken(deps, {
    senderId: client.sender_id,
    clientId: client.client_id,
    scopes: requested,
    // The secret this request authenticated with (the row it was checked against): a rotation since refuses it.
    secretRotatedAt: secretRotatedAtMs(client),
  });
  c.set("logFields", { ...c.get("logFields"), sender_id: client.sender_id, client_id: client.client_id });
  return c.json(
    {
      access_token: token,
      token_type: "Bearer",
      expires_in: deps.config.tokenTtlSeconds,
      scope: requested.join(" "),
    },
    200,
    TOKEN_NO_STORE,
  );
}
