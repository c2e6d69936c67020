/** The token endpoint's paths (its route, the body bound in front of it, and its RFC 6749 error bodies). */
export const TOKEN_PATHS = ["/oauth2/client/token", "/dci_api/v1/oauth2/client/token"] as const;

/** Whether `path` is the token endpoint's. */
export function isTokenPath(path: string): boolean {
  return path === TOKEN_PATHS[0] || path === TOKEN_PATHS[1];
}

/** Headers of every token endpoint answer, its refusals included (RFC 6749 §5.1). */
export const TOKEN_NO_STORE = { "Cache-Control": "no-store", Pragma: "no-cache" } as const;

/**
 * The token endpoint's 401 challenge: HTTP Basic, the one HTTP authentication scheme it takes (RFC 6749 §2.3.1,
 * §5.2), whichever way the refused request sent its credentials (a client that waits to be asked sends Basic).
 */
export const TOKEN_CHALLENGE = 'Basic realm="dci"';

/**
 * An RFC 6749 §5.2 error body: `error_description` holds only %x20-21 / %x23-5B / %x5D-7E, so a double quote
 * becomes a single one and any other character outside that set (a backslash, a control or non-ASCII character
 * a client sent) `?`.
 */
export function tokenErrorBody(
  error: string,
  description: string,
): { error: string; error_description: string } {
  return {
    error,
    error_description: description.replaceAll('"', "'").replace(/[^\x20\x21\x23-\x5B\x5D-\x7E]/g, "?"),
  };
}

/** The headers of a token endpoint refusal with `status` (its challenge on a 401), over `headers`. */
export function tokenErrorHeaders(
  status: number,
  headers: Record<string, string> = {},
): Record<string, string> {
  return {
    ...headers,
    ...TOKEN_NO_STORE,
    ...(status === 401 ? { "WWW-Authenticate": TOKEN_CHALLENGE } : {}),
  };
}
