/** Admin API authentication: `Authorization: Bearer <admin token>`; role admin (all) or viewer (read only). */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";

/** Admin roles. */
export type AdminRole = "admin" | "viewer";

/** Authenticates an admin token and enforces its role. (Being implemented: refuses everything for now.) */
export function requireAdmin(_deps: Deps): MiddlewareHandler<AppEnv> {
  return () => {
    throw new DciError("err.request.unauthorized", "Admin token required");
  };
}
