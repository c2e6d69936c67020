/**
 * The console's cookies: the session cookie and the login form's CSRF cookie. HttpOnly, SameSite=Strict, Secure
 * when served over TLS (or DCI_PUBLIC_URL is https, or a trusted proxy says the client used https), and scoped to the console's path, which follows the path of
 * DCI_PUBLIC_URL when the server is published under a prefix.
 */
import type { Context } from "hono";
import { deleteCookie, getCookie, setCookie } from "hono/cookie";
import type { Deps } from "../deps.ts";
import { CONSOLE_ROOT, type ConsoleEnv } from "./context.ts";
import { type ConsoleSession, readSession, SESSION_COOKIE } from "./session.ts";

/** The login form's double-submit CSRF cookie (there is no session yet to derive a token from). */
export const LOGIN_COOKIE = "dci_console_login";

/** The session of this request's cookie, if live. */
export function readSessionCookie(c: Context<ConsoleEnv>, deps: Deps): Promise<ConsoleSession | undefined> {
  return readSession(deps, getCookie(c, SESSION_COOKIE));
}

/** The cookie attributes: path-scoped, HttpOnly, SameSite=Strict, Secure under TLS. */
export function cookieOptions(c: Context<ConsoleEnv>, deps: Deps, maxAgeSeconds?: number) {
  const publicUrl = deps.config.publicUrl ? new URL(deps.config.publicUrl) : undefined;
  const prefix = (publicUrl?.pathname ?? "").replace(/\/+$/, "");
  // A trusted proxy's X-Forwarded-Proto (observe resolves it) counts: behind a TLS-terminating proxy the request
  // URL is http, and a session cookie without Secure would be sent on a plain http request to the same host.
  const secure = publicUrl?.protocol === "https:" || new URL(c.req.url).protocol === "https:" ||
    c.get("clientProto") === "https";
  return {
    path: `${prefix}${CONSOLE_ROOT}`,
    httpOnly: true,
    sameSite: "Strict" as const,
    secure,
    ...(maxAgeSeconds === undefined ? {} : { maxAge: maxAgeSeconds }),
  };
}

/** Sets the session cookie. */
export function setSessionCookie(c: Context<ConsoleEnv>, deps: Deps, id: string): void {
  setCookie(c, SESSION_COOKIE, id, cookieOptions(c, deps, deps.config.consoleSessionTtl));
}

/** Removes the session cookie. */
export function clearSessionCookie(c: Context<ConsoleEnv>, deps: Deps): void {
  deleteCookie(c, SESSION_COOKIE, cookieOptions(c, deps));
}

/** The login CSRF cookie's value, if any. */
export function loginCookie(c: Context<ConsoleEnv>): string | undefined {
  return getCookie(c, LOGIN_COOKIE);
}

/** Sets the login CSRF cookie (ten minutes: long enough to paste a token). */
export function setLoginCookie(c: Context<ConsoleEnv>, deps: Deps, value: string): void {
  setCookie(c, LOGIN_COOKIE, value, cookieOptions(c, deps, 600));
}
