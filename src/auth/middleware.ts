/** The auth chain in front of every registry endpoint. */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";

/** OAuth2 scopes a registry endpoint may require. */
export type Scope = "registry.search" | "registry.subscribe" | "registry.txn-status" | "registry.receipt";

/**
 * Authenticates a registry request before any work: bearer token, envelope signature, replay guard and
 * rate limits; sets `c.var.auth`. (Filled in by the authentication issue; until then it lets requests through.)
 */
export function authenticate(_deps: Deps, _scope: Scope): MiddlewareHandler<AppEnv> {
  return async (_c, next) => {
    await next();
  };
}
