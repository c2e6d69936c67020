/**
 * The security schemes of the OpenAPI document and the requirement each kind of route declares: registry routes
 * an OAuth2 bearer token with the route's scope and the DCI signature; admin routes an admin token; the token
 * endpoint client credentials; public routes nothing.
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Config } from "../config.ts";
import { Ack, ENVELOPE_SIGNATURE_FORMAT } from "../dci/schemas.ts";
import { TOKEN_PATHS } from "../auth/token_paths.ts";

/** The token endpoint path partners use (the other is its alias under /dci_api/v1). */
const TOKEN_PATH = TOKEN_PATHS[0];

/** The OAuth2 scopes registry routes require, with what each allows. */
export const SCOPES: Record<string, string> = {
  "registry.search": "search and sync/search",
  "registry.subscribe": "subscribe and unsubscribe",
  "registry.txn-status": "txn/status and sync/txn/status",
  "registry.receipt": "receipt and sync/receipt",
  "registry.enrollment": "IBR enrollment updates",
};

const SIGNATURE_TEXT =
  "The DCI signature, which the sender's signature policy (`signature_policy`, default " +
  "`DCI_SIGNATURE_POLICY`: required) asks for: EITHER the envelope's `signature` field in the request body " +
  `(${ENVELOPE_SIGNATURE_FORMAT}; OpenAPI cannot express a body field as a security scheme, so it is described ` +
  "here and in the envelope schema) OR the RFC 9421 headers `Signature` and `Signature-Input` (label `sig1`, " +
  "covering at least `@method`, `@target-uri` and `content-digest`, with a `Content-Digest` header; `keyid` " +
  "names the sender's key). A sender whose policy is `optional` may send neither; `off` ignores both.";

/**
 * Registers the document's security schemes on `app`. The token URL is absolute under DCI_PUBLIC_URL; without
 * it, relative: against the document's (relative) servers entry, as OpenAPI 3.1 resolves it, the token endpoint
 * under any path prefix; against the docs page, as Swagger UI's Authorize resolves it, its /dci_api/v1 alias.
 */
export function registerSecuritySchemes(app: OpenAPIHono<AppEnv>, config: Config): void {
  const tokenUrl = config.publicUrl
    ? `${config.publicUrl.replace(/\/+$/, "")}${TOKEN_PATH}`
    : TOKEN_PATH.slice(1);
  const add = (name: string, scheme: Record<string, unknown>) =>
    app.openAPIRegistry.registerComponent("securitySchemes", name, scheme as never);
  add("oauth2", {
    type: "oauth2",
    description:
      "OAuth2 client credentials (RFC 6749 §4.4): the access token from the token endpoint, sent as " +
      "`Authorization: Bearer <token>`. Swagger UI's Authorize gets one with a client id and secret.",
    flows: { clientCredentials: { tokenUrl, scopes: SCOPES } },
  });
  add("bearerToken", {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "An access token already issued by the token endpoint, pasted (same header as oauth2).",
  });
  add("dciSignature", { type: "apiKey", in: "header", name: "Signature", description: SIGNATURE_TEXT });
  add("adminToken", {
    type: "http",
    scheme: "bearer",
    description:
      "An admin API token (`dcia_at_…`, from `dci-server admin-token create`, or DCI_ADMIN_TOKEN). " +
      "Role admin may do everything; role viewer may only read (GET).",
  });
  add("metricsToken", {
    type: "http",
    scheme: "bearer",
    description: "DCI_METRICS_TOKEN, when set; without it /metrics is open.",
  });
  add("senderOutbound", {
    type: "http",
    scheme: "bearer",
    description: "On callbacks and notifications to a sender: the sender's outbound_auth setting, a bearer " +
      "token it gave, or one this server gets from the sender's OAuth2 token URL (none by default).",
  });
  add("clientCredentials", {
    type: "http",
    scheme: "basic",
    description: "The OAuth2 client id and secret (RFC 6749 §2.3.1); they may instead be the client_id and " +
      "client_secret parameters of the body.",
  });
}

/** A registry route's requirement: a token with `scope` (by the flow or pasted) and the DCI signature. */
export function registrySecurity(scope: string): Record<string, string[]>[] {
  return [{ oauth2: [scope], dciSignature: [] }, { bearerToken: [], dciSignature: [] }];
}

/** A requirement met by `scheme` or by nothing (the credentials may come another way, or none). */
export function optionalSecurity(scheme: string): Record<string, string[]>[] {
  return [{ [scheme]: [] }, {}];
}

/** An admin route's requirement. */
export const ADMIN_SECURITY: Record<string, string[]>[] = [{ adminToken: [] }];

/** The `Retry-After` a refusal to come back later carries (a 429 or a 503), as a response's `headers`. */
export const RETRY_AFTER = {
  "Retry-After": {
    description: "Seconds to wait before trying again",
    schema: { type: "integer" as const, minimum: 1 },
  },
};

/**
 * The `Cache-Control: no-store` of an answer no cache may keep (the token endpoint's, RFC 6749 §5.1, and those
 * showing a client secret once), as a response's `headers`.
 */
export const NO_STORE = {
  "Cache-Control": {
    description: "`no-store` (the token endpoint's answers also `Pragma: no-cache`): never kept by a cache",
    schema: { type: "string" as const },
  },
};

/** A public route's requirement: none. */
export const PUBLIC_SECURITY: Record<string, string[]>[] = [];

/** The failures every admin route may answer, each the ERR ACK. */
export const ADMIN_ERRORS = {
  400: { description: "ERR ACK: invalid request (err.request.bad naming the field)", content: ackJson() },
  401: { description: "ERR ACK: admin token missing, invalid or revoked", content: ackJson() },
  403: { description: "ERR ACK: a viewer token may only read", content: ackJson() },
  404: { description: "ERR ACK: no such resource", content: ackJson() },
  409: { description: "ERR ACK: refused in the resource's current state", content: ackJson() },
  413: { description: "ERR ACK: the body is larger than DCI_BODY_LIMIT", content: ackJson() },
  415: { description: "ERR ACK: a request body must be sent as application/json", content: ackJson() },
  408: { description: "ERR ACK: the body stalled (DCI_BODY_IDLE_TIMEOUT_MS)", content: ackJson() },
  429: {
    description: "ERR ACK: too many failed admin-token checks from this address or in all (Retry-After)",
    content: ackJson(),
    headers: RETRY_AFTER,
  },
  503: {
    description:
      "ERR ACK with Retry-After: storage busy, full or unreachable, a registrant write during a bulk load, or the server draining",
    content: ackJson(),
    headers: RETRY_AFTER,
  },
  500: {
    description: "ERR ACK: an internal error (its correlation_id is the X-Request-ID)",
    content: ackJson(),
  },
} as const;

function ackJson() {
  return { "application/json": { schema: Ack } };
}
