/** Login (an admin or viewer token, verified like the admin API's) and logout. */
import type { Context, Hono } from "hono";
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Deps } from "../deps.ts";
import { checkAdminToken } from "../admin/login_limit.ts";
import { type ConsoleEnv, href } from "./context.ts";
import { clearSessionCookie, loginCookie, setLoginCookie, setSessionCookie } from "./cookies.ts";
import { createSession, csrfMatches, endSession } from "./session.ts";
import { Flash } from "./components.tsx";
import { errorPage } from "./error_page.tsx";

/** GET/POST /console/login and POST /console/logout. */
export function loginRoutes(app: Hono<ConsoleEnv>, deps: Deps): void {
  app.get("/login", (c) => {
    if (c.get("session")) return c.redirect(href(c, ""), 303);
    const nonce = randomBytes(32).toString("base64url");
    setLoginCookie(c, deps, nonce);
    return c.render(<LoginForm nonce={nonce} />, { title: "Log in" });
  });
  app.post("/login", async (c) => {
    // The login cookie first: a request without one (a flood of forms) is refused before its body is read.
    const cookie = loginCookie(c);
    const body = cookie ? await smallForm(c) : undefined;
    if (body === TOO_MANY_FIELDS) {
      return loginError(c, 413, "", `The form has more than ${MAX_FORM_FIELDS} fields.`);
    }
    if (!cookie || !body || !sameText(cookie, body._csrf)) {
      return loginError(c, 403, "", "The login form expired or was not sent from this page: reload it.");
    }
    // Failed logins are limited per client address and for everyone (src/admin/login_limit.ts): a refused one
    // costs no scrypt check, and a valid token's login gives its slot back.
    const token = typeof body.token === "string" ? body.token.trim() : "";
    const checked = await checkAdminToken(deps, token, { clientIp: c.get("clientIp") ?? "unknown" });
    if (!checked.ok && checked.reason === "limited") {
      c.header("Retry-After", String(checked.retryAfter));
      const who = checked.scope === "client" ? "from this address" : "to this server";
      return loginError(
        c,
        429,
        cookie,
        `Too many failed logins ${who}. Try again in ${checked.retryAfter} seconds.`,
      );
    }
    if (!checked.ok) return loginError(c, 401, cookie, "That token is not a valid admin or viewer token.");
    const { info } = checked;
    const { id } = await createSession(deps, info.id);
    setSessionCookie(c, deps, id);
    deps.log.info("console login", { admin_token_id: info.id, role: info.role });
    return c.redirect(href(c, ""), 303);
  });
  app.post("/logout", async (c) => {
    const session = c.get("session");
    // No session, nothing to end: its body is never read. With one, refused without the session's CSRF token,
    // so another site cannot log an operator out.
    const body = session ? await smallForm(c) : undefined;
    if (body === TOO_MANY_FIELDS) {
      return errorPage(c, 413, `The form has more than ${MAX_FORM_FIELDS} fields.`);
    }
    if (!session || !body || !csrfMatches(session, body._csrf)) {
      return errorPage(c, 403, "This form has no valid CSRF token: reload the page and try again.");
    }
    await endSession(deps, session.id);
    clearSessionCookie(c, deps);
    return c.redirect(href(c, "login"), 303);
  });
}

/** The login form again, with an error and `status`. */
function loginError(c: Context<ConsoleEnv>, status: 401 | 403 | 413 | 429, nonce: string, error: string) {
  c.status(status);
  return c.render(<LoginForm nonce={nonce} error={error} />, { title: "Log in" });
}

/** The login and logout forms send one or two fields; a body with more is refused before it is parsed. */
const MAX_FORM_FIELDS = 32;

const TOO_MANY_FIELDS = Symbol("too many fields");

/**
 * The form's fields, or TOO_MANY_FIELDS when the body has more than MAX_FORM_FIELDS: counted on the text (`&`
 * separators, or multipart boundaries), so a body of thousands of tiny fields costs no parse.
 */
async function smallForm(
  c: Context<ConsoleEnv>,
): Promise<Record<string, string | File> | typeof TOO_MANY_FIELDS> {
  const type = c.req.header("content-type") ?? "";
  const boundary = /^multipart\/form-data\s*;.*\bboundary="?([^";]+)"?/i.exec(type)?.[1];
  const urlencoded = /^application\/x-www-form-urlencoded\b/i.test(type);
  if (boundary || urlencoded) {
    const text = await c.req.text();
    // n parts have n + 1 boundary lines; n pairs have n - 1 separators.
    const fields = boundary ? occurrences(text, `--${boundary}`) - 1 : occurrences(text, "&") + 1;
    if (fields > MAX_FORM_FIELDS) return TOO_MANY_FIELDS;
  }
  return await c.req.parseBody();
}

/** How many times `needle` occurs in `text` (without overlaps). */
function occurrences(text: string, needle: string): number {
  let n = 0;
  for (let i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length)) n++;
  return n;
}

function LoginForm(props: { nonce: string; error?: string }) {
  return (
    <div class="login">
      {props.error && <Flash kind="error" text={props.error} />}
      <form method="post" action="login" class="stack" aria-label="Log in">
        <input type="hidden" name="_csrf" value={props.nonce} />
        <label>
          Admin or viewer token
          <span class="hint">Created with `dci-server admin-token create`, or DCI_ADMIN_TOKEN.</span>
          <input type="password" name="token" autocomplete="off" required maxlength={512} autofocus />
        </label>
        <button type="submit">Log in</button>
      </form>
    </div>
  );
}

function sameText(a: string, b: unknown): boolean {
  if (typeof b !== "string" || b.length > 100) return false;
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}
