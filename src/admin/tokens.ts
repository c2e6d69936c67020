/** Admin API tokens: created (shown once), listed, revoked, verified. Only scrypt hashes are stored. */
import { randomBytes } from "node:crypto";
import type { Db } from "../db/sqlite.ts";
import { hashSecret, lookupKey, randomToken, type SecretHash, verifySecret } from "../auth/secrets.ts";
import { stmt } from "../db/statements.ts";

/** Admin roles: admin may do everything, viewer may only read. */
export type AdminRole = "admin" | "viewer";

/** An admin token as operators see it (never the secret). */
export interface AdminTokenInfo {
  id: string;
  name: string;
  role: AdminRole;
  source: "cli" | "env";
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

interface TokenRow extends AdminTokenInfo, SecretHash {
  lookup_key: string;
}

/** Creates a token; the returned `token` is the only time the secret exists outside the caller. */
export async function createAdminToken(
  db: Db,
  options: { role: AdminRole; name?: string; token?: string; source?: "cli" | "env"; now?: string },
): Promise<{ token: string; info: AdminTokenInfo }> {
  const token = options.token ?? randomToken("dcia");
  const id = `at_${randomBytes(6).toString("hex")}`;
  const { salt, hash } = await hashSecret(token);
  const now = options.now ?? new Date().toISOString();
  stmt(
    db,
    `INSERT INTO admin_tokens (id, name, role, source, lookup_key, salt, hash, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    id,
    options.name ?? `${options.role} token`,
    options.role,
    options.source ?? "cli",
    lookupKey(token),
    salt,
    hash,
    now,
  );
  return { token, info: getAdminToken(db, id)! };
}

/** One token's description. */
export function getAdminToken(db: Db, id: string): AdminTokenInfo | undefined {
  return stmt(
    db,
    "SELECT id, name, role, source, created_at, last_used_at, revoked_at FROM admin_tokens WHERE id = ?",
  ).get(id) as AdminTokenInfo | undefined;
}

/** Every token, newest first. */
export function listAdminTokens(db: Db): AdminTokenInfo[] {
  return stmt(
    db,
    "SELECT id, name, role, source, created_at, last_used_at, revoked_at FROM admin_tokens ORDER BY created_at DESC, rowid DESC",
  ).all() as unknown as AdminTokenInfo[];
}

/** Revokes a token at once; false if there is no such active token. */
export function revokeAdminToken(db: Db, id: string, now = new Date().toISOString()): boolean {
  return Number(
    stmt(db, "UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(now, id)
      .changes,
  ) > 0;
}

/** The active token row matching `token`, after a constant-time scrypt check; undefined otherwise. */
export async function verifyAdminToken(db: Db, token: string): Promise<AdminTokenInfo | undefined> {
  const row = stmt(db, "SELECT * FROM admin_tokens WHERE lookup_key = ? AND revoked_at IS NULL")
    .get(lookupKey(token)) as TokenRow | undefined;
  if (!row) return undefined;
  if (!(await verifySecret(token, row))) return undefined;
  return { ...row };
}

/** Registers DCI_ADMIN_TOKEN as an admin token (once), revoking env tokens it replaced. */
export async function ensureEnvAdminToken(
  db: Db,
  token: string,
  now = new Date().toISOString(),
): Promise<boolean> {
  const key = lookupKey(token);
  stmt(
    db,
    "UPDATE admin_tokens SET revoked_at = ? WHERE source = 'env' AND lookup_key <> ? AND revoked_at IS NULL",
  )
    .run(now, key);
  if (stmt(db, "SELECT 1 FROM admin_tokens WHERE lookup_key = ? AND revoked_at IS NULL").get(key)) {
    return false;
  }
  await createAdminToken(db, { role: "admin", name: "DCI_ADMIN_TOKEN", token, source: "env", now });
  return true;
}
