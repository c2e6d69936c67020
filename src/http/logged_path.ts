/** How a request's path is written in the log: without a registrant's id, and bounded. */

/** The longest request path an access log line shows whole (characters). */
const MAX_LOGGED_PATH = 256;

/**
 * The registrants of the admin API (the social registry's and any registry's) and the console's records: a path
 * under one names a registrant's id (a national id, say: personal data) in its next segment. Matched on the path as
 * sent, whatever route answered it: a refusal before the route's handler (an admin 401, a console session that
 * ended) has a middleware's pattern for its route. In any case and with doubled slashes: `/Admin/v1//registrants/…`
 * is answered 404 but still names the id.
 */
const COLLECTION = String
  .raw`\/+admin\/+v1(?:\/+registries\/+[^/]+)?\/+registrants|\/+console\/+registry\/+[^/]+\/+records`;

/** A path from its start to a registrant's id (the id follows it). */
const REGISTRANT_PATH = new RegExp(`^((?:${COLLECTION})\\/+)[^/]+`, "i");

/** The collections, and anything under them. */
const REGISTRANTS = new RegExp(`^(?:${COLLECTION})(?:\\/|$)`, "i");

/**
 * Whether `path` is about registrants: a refusal's message there may name one's id or identifier values (`identifier
 * NID "…" belongs to another registrant`), so its access line keeps the code only.
 */
export function isRegistrantPath(path: string): boolean {
  return REGISTRANTS.test(path);
}

/**
 * A request's path as its access line and other log lines show it: a registrant's id in an admin or console path
 * is written `:id` (the audit trail, not stdout, is where who read or changed which registrant is kept), and a
 * path longer than MAX_LOGGED_PATH is cut (a client chooses its length, and the line is written unauthenticated).
 */
export function loggedPath(path: string): string {
  path = path.replace(REGISTRANT_PATH, "$1:id");
  return path.length > MAX_LOGGED_PATH ? `${path.slice(0, MAX_LOGGED_PATH)}…` : path;
}
