/**
 * The console's Hono environment and its relative URLs. Every link, form action and redirect is relative to
 * the page it is on, so the console works unchanged behind a reverse proxy that serves it under a path prefix
 * (`https://example.org/dci/console/` reaching this server's `/console/`).
 */
import type { Context } from "hono";
import type { AppVariables } from "../http/context.ts";
import type { ConsoleSession, OnceValues } from "./session.ts";

/** Per-request variables of console routes. */
export interface ConsoleVariables extends AppVariables {
  /** The logged-in session (absent only on the login page and the assets). */
  session?: ConsoleSession;
  /** This page's way back to the console root: "./", "../", "../../", ... */
  base: string;
  /** What the previous write left for this page (taken before rendering: a render must not write). */
  once?: OnceValues;
}

/** The console's Hono environment. */
export type ConsoleEnv = { Variables: ConsoleVariables };

/** The console's mount point in the app. */
export const CONSOLE_ROOT = "/console";

/**
 * The relative path from the request's page to the console root: `/console/` and `/console/senders` give
 * "./", `/console/senders/abc` gives "../", and so on.
 */
export function baseOf(path: string): string {
  const rest = path.startsWith(`${CONSOLE_ROOT}/`) ? path.slice(CONSOLE_ROOT.length + 1) : "";
  const depth = rest.split("/").length - 1;
  return depth <= 0 ? "./" : "../".repeat(depth);
}

/** A URL relative to the current page for the console path `rel` (e.g. `senders/abc`). */
export function href(c: Context<ConsoleEnv>, rel: string): string {
  return `${c.get("base")}${rel}`;
}

/** Whether this request's session may write (role admin). */
export function canWrite(c: Context<ConsoleEnv>): boolean {
  return c.get("session")?.role === "admin";
}
