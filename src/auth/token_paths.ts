/** The token endpoint's paths (its route, the body bound in front of it, and its RFC 6749 error bodies). */
export const TOKEN_PATHS = ["/oauth2/client/token", "/dci_api/v1/oauth2/client/token"] as const;

/** Whether `path` is the token endpoint's. */
export function isTokenPath(path: string): boolean {
  return path === TOKEN_PATHS[0] || path === TOKEN_PATHS[1];
}
