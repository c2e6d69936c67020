/**
 * The token endpoint in the OpenAPI document. Its handler reads form and JSON bodies itself and answers RFC 6749
 * §5.2 errors (a zod validator would answer the ERR ACK instead), so these schemas document it and the tests
 * check its real answers against them.
 */
import { z } from "@hono/zod-openapi";
import { NO_STORE, optionalSecurity, RETRY_AFTER, SCOPES } from "../system/openapi_security.ts";

const MAX_PARAM = 1024;

/** The token request, as a form (RFC 6749) or a JSON object (as OpenSPP's guide sends it). */
export const TokenRequest = z.object({
  grant_type: z.literal("client_credentials"),
  client_id: z.string().max(MAX_PARAM).optional().openapi({
    description: "With client_secret; beside HTTP Basic only the Basic client's own id and secret, if any " +
      "(RFC 6749 §2.3: one client, one method). A parameter sent without a value is read as omitted (§3.1)",
  }),
  client_secret: z.string().max(MAX_PARAM).optional(),
  scope: z.string().max(MAX_PARAM).optional().openapi({
    description: `Space-separated scopes, each granted to the client (default: all it has): ${
      Object.keys(SCOPES).join(", ")
    }`,
  }),
  db_name: z.string().max(MAX_PARAM).optional().openapi({
    description: "Accepted and ignored (OpenSPP's guide sends its Odoo database name); so is any other " +
      "string parameter",
  }),
}).openapi("TokenRequest");

/** A token issued. */
export const TokenResponse = z.object({
  access_token: z.string().openapi({ description: "A JWT (typ at+jwt) signed with the server's key" }),
  token_type: z.literal("Bearer"),
  expires_in: z.number().int().openapi({ description: "Seconds (DCI_TOKEN_TTL_SECONDS)" }),
  scope: z.string(),
}).openapi("TokenResponse");

/** An RFC 6749 §5.2 error. */
export const TokenError = z.object({
  error: z.enum([
    "invalid_request",
    "invalid_client",
    "unsupported_grant_type",
    "invalid_scope",
    "temporarily_unavailable",
    "server_error",
  ]),
  error_description: z.string().openapi({
    description:
      "Printable ASCII without `\"` and `\\` (RFC 6749 §5.2): a client's own text is quoted with `'`",
  }),
}).openapi("TokenError");

/** A refusal of the token endpoint (every one of its answers is no-store). */
const error = (description: string) => ({
  description,
  content: { "application/json": { schema: TokenError } },
  headers: NO_STORE,
});

/** The route spec of the token endpoint at `path`. */
export function tokenRoute(path: string) {
  return {
    method: "post" as const,
    path,
    tags: ["OAuth2"],
    summary: "Issue an access token (OAuth2 client credentials, RFC 6749 §4.4)",
    description: "Client credentials by HTTP Basic or in the body (form or JSON). Per-IP limit " +
      "(DCI_TOKEN_IP_LIMIT_PER_MINUTE), per-client-id lockout after failures. Bodies up to 8 KiB (413) and " +
      "32 parameters (400 invalid_request). Answers carry Cache-Control: no-store; a 401 challenges HTTP Basic.",
    security: optionalSecurity("clientCredentials"),
    request: {
      body: {
        required: true,
        content: {
          "application/x-www-form-urlencoded": { schema: TokenRequest },
          "application/json": { schema: TokenRequest },
        },
      },
    },
    responses: {
      200: {
        description: "The token",
        content: { "application/json": { schema: TokenResponse } },
        headers: NO_STORE,
      },
      400: error("invalid_request, unsupported_grant_type or invalid_scope"),
      401: error("invalid_client: unknown, revoked or wrong credentials (WWW-Authenticate)"),
      408: error("invalid_request: the body stalled (DCI_BODY_IDLE_TIMEOUT_MS)"),
      413: error("invalid_request: the body is larger than 8 KiB (or DCI_BODY_LIMIT)"),
      429: {
        ...error("Too many requests from this address or failures for this client id (Retry-After)"),
        headers: { ...NO_STORE, ...RETRY_AFTER },
      },
      500: error("server_error: an internal error"),
      503: {
        ...error(
          "temporarily_unavailable: too many secrets being checked now, or storage busy or out of reach (Retry-After)",
        ),
        headers: { ...NO_STORE, ...RETRY_AFTER },
      },
    },
  };
}
