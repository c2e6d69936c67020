/** Where admin tokens are kept: the interface the services use, and its embedded SQLite implementation. */
import type { Db } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import {
  ACTIVE_ROLE,
  type AdminRole,
  type AdminTokenCheck,
  type AdminTokenInfo,
  createAdminToken,
  ensureEnvAdminToken,
  type EnvTokenOutcome,
  findAdminToken,
  getAdminToken,
  legacyAdminTokenIds,
  listAdminTokens,
  revokeAdminToken,
  TOUCH,
  verifyAdminToken,
} from "./tokens.ts";

/** Admin API tokens (src/admin/tokens.ts): stored as salted hashes, shown once. */
export interface AdminTokenStore {
  /** Creates a token; the returned `token` is the only time its secret exists outside the caller. */
  create(
    options: { role: AdminRole; name?: string; now?: string },
  ): Promise<{ token: string; info: AdminTokenInfo }>;
  /** One token's description. */
  get(id: string): Promise<AdminTokenInfo | undefined>;
  /** Every token, newest first. */
  list(): Promise<AdminTokenInfo[]>;
  /** Revokes a token at once; false if there is no such active token. */
  revoke(id: string, now?: string): Promise<boolean>;
  /** The active token matching a presented token (DCI_ADMIN_TOKEN is `envToken`), or undefined. */
  verify(token: string, options?: { envToken?: string }): Promise<AdminTokenInfo | undefined>;
  /**
   * The scrypt check of a presented token when it names an active row (DCI_ADMIN_TOKEN is `envToken`), else
   * undefined: found without hashing, so only checks that hash need count against the failed-check limit.
   */
  find(token: string, options?: { envToken?: string }): Promise<AdminTokenCheck | undefined>;
  /** The role of a token while it is active, else undefined (revocation seen at once by every instance). */
  activeRole(id: string): Promise<AdminRole | undefined>;
  /**
   * Registers DCI_ADMIN_TOKEN unless the active env token already is it or it was revoked; revokes env tokens it
   * replaces. Instances starting at once register it once.
   */
  ensureEnv(token: string, now?: string): Promise<EnvTokenOutcome>;
  /** Ids of active tokens in the legacy format (still accepted; operators should replace them). */
  legacyIds(): Promise<string[]>;
  /** Records `now` as when the token was last used (verified). */
  touch(id: string, now: string): Promise<void>;
}

/** The admin tokens in the embedded SQLite database. */
export function sqliteAdminTokenStore(db: Db): AdminTokenStore {
  return {
    create: (options) => createAdminToken(db, options),
    get: (id) => Promise.try(() => getAdminToken(db, id)),
    list: () => Promise.try(() => listAdminTokens(db)),
    revoke: (id, now) => Promise.try(() => revokeAdminToken(db, id, now)),
    verify: (token, options) => verifyAdminToken(db, token, options),
    find: (token, options) => Promise.try(() => findAdminToken(db, token, options)),
    activeRole: (id) =>
      Promise.try(() => (stmt(db, ACTIVE_ROLE).get(id) as { role: AdminRole } | undefined)?.role),
    ensureEnv: (token, now) => ensureEnvAdminToken(db, token, now),
    legacyIds: () => Promise.try(() => legacyAdminTokenIds(db)),
    touch: (id, now) => Promise.try(() => void stmt(db, TOUCH).run(now, id)),
  };
}
