/** Admin API authentication: `Authorization: Bearer <admin token>`; role admin (all) or viewer (read only). */
import type { MiddlewareHandler } from "hono";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import { type AdminTokenCheckResult, checkAdminToken } from "./login_limit.ts";
import { sha256Hex } from "../auth/secrets.ts";

export type { AdminRole } from "./tokens.ts";

/**
 * How long a verified token skips the scrypt check. Revocation is still read from the database on every request
 * (`activeRole`), so a token revoked by any isolate or process stops at once.
 */
const VERIFIED_TTL_MS = 60_000;

/** Authenticates an admin token and enforces its role: viewers may only GET/HEAD. */
export function requireAdmin(deps: Deps): MiddlewareHandler<AppEnv> {
  const verified = new Map<string, { id: string; role: string; source: "cli" | "env"; at: number }>();
  // Checks running now, by token and address: requests that come together with one token (a script's parallel
  // workers) share one check, so they take one slot of the failed-check limit, not one each (a valid token's
  // slots are given back only once verified: ten at once were refused as failures).
  const checking = new Map<string, Promise<AdminTokenCheckResult>>();
  return async (c, next) => {
    const header = c.req.header("authorization") ?? "";
    const match = /^Bearer ([\x21-\x7e]{1,512})$/i.exec(header); // schemes are case-insensitive (RFC 9110)
    if (!match) {
      throw new DciError("err.request.unauthorized", "Admin token required: Authorization: Bearer <token>");
    }
    const cacheKey = sha256Hex(match[1]);
    const now = deps.clock.now();
    let hit = verified.get(cacheKey);
    if (hit && now - hit.at > VERIFIED_TTL_MS) hit = undefined;
    if (hit && !(await deps.storage.adminTokens.activeRole(hit.id))) {
      verified.delete(cacheKey);
      hit = undefined;
    }
    if (!hit) {
      // The console login's limit on failed checks (src/admin/login_limit.ts): guesses cannot buy scrypt work.
      const clientIp = c.get("clientIp") ?? "unknown";
      const key = `${cacheKey}\n${clientIp}`;
      let check = checking.get(key);
      const joined = check !== undefined;
      if (!check) {
        check = checkAdminToken(deps, match[1], { clientIp }).finally(() => checking.delete(key));
        checking.set(key, check);
      }
      const checked = await check;
      if (!checked.ok && checked.reason === "limited") {
        throw new DciError(
          "err.request.too_many_requests",
          `Too many failed admin-token checks ${
            checked.scope === "client" ? "from this address" : "in all"
          }; ` +
            `retry in ${checked.retryAfter} s`,
          { headers: { "Retry-After": String(checked.retryAfter) } },
        );
      }
      if (!checked.ok) throw new DciError("err.request.unauthorized", "Admin token is invalid or revoked");
      const { info } = checked;
      // A request that joined a check read the token's row when that check began: read whether it is still active
      // (revoked since, by any isolate or process), as a cached one is.
      if (joined && !(await deps.storage.adminTokens.activeRole(info.id))) {
        throw new DciError("err.request.unauthorized", "Admin token is invalid or revoked");
      }
      hit = { id: info.id, role: info.role, source: info.source, at: now };
      if (verified.size > 1000) verified.clear();
      verified.set(cacheKey, hit);
    }
    if (hit.role !== "admin" && c.req.method !== "GET" && c.req.method !== "HEAD") {
      throw new DciError("err.request.forbidden", `Role "${hit.role}" may only read`);
    }
    c.set("logFields", { ...c.get("logFields"), admin_token_id: hit.id });
    c.set("admin", { id: hit.id, role: hit.role, source: hit.source });
    await next();
  };
}
