/** Login (an admin or viewer token, verified like the admin API's) and logout. */
import type { Hono } from "hono";
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
    const body = await c.req.parseBody();
    const cookie = loginCookie(c);
    if (!cookie || !sameText(cookie, body._csrf)) {
      c.status(403);
      return c.render(
        <LoginForm nonce="" error="The login form expired or was not sent from this page: reload it." />,
        {
          title: "Log in",
        },
      );
    }
    // Failed logins are limited per client address and for everyone (src/admin/login_limit.ts): a refused one
    // costs no scrypt check, and a valid token's login gives its slot back.
    const token = typeof body.token === "string" ? body.token.trim() : "";
    const checked = await checkAdminToken(deps, token, { clientIp: c.get("clientIp") ?? "unknown" });
    if (!checked.ok && checked.reason === "limited") {
      c.status(429);
      c.header("Retry-After", String(checked.retryAfter));
      const who = checked.scope === "client" ? "from this address" : "to this server";
      return c.render(
        <LoginForm
          nonce={cookie}
          error={`Too many failed logins ${who}. Try again in ${checked.retryAfter} seconds.`}
        />,
        { title: "Log in" },
      );
    }
    if (!checked.ok) {
      c.status(401);
      return c.render(<LoginForm nonce={cookie} error="That token is not a valid admin or viewer token." />, {
        title: "Log in",
      });
    }
    const { info } = checked;
    const { id } = await createSession(deps, info.id);
    setSessionCookie(c, deps, id);
    deps.log.info("console login", { admin_token_id: info.id, role: info.role });
    return c.redirect(href(c, ""), 303);
  });
  app.post("/logout", async (c) => {
    const session = c.get("session");
    const body = await c.req.parseBody();
    // Refused without the session's CSRF token, so another site cannot log an operator out.
    if (!session || !csrfMatches(session, body._csrf)) {
      return errorPage(c, 403, "This form has no valid CSRF token: reload the page and try again.");
    }
    await endSession(deps, session.id);
    clearSessionCookie(c, deps);
    return c.redirect(href(c, "login"), 303);
  });
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
