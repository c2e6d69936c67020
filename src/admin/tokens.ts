/**
 * Admin API tokens: created (shown once), listed, revoked, verified. A token is `dcia_<id>_<secret>`: the row is
 * found by its id and holds only a salted scrypt hash, so a stolen database gives nothing to test guesses
 * against quickly. DCI_ADMIN_TOKEN (any phrase of 24+ characters) is compared with the configured value itself.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import type { Db } from "../db/sqlite.ts";
import { hashSecret, lookupKey, type SecretHash, verifySecret } from "../auth/secrets.ts";
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

type TokenRow = AdminTokenInfo & SecretHash;

/** `dcia_<id>_<secret>`: the id finds the row, the 256-bit secret is what the hash protects. */
const TOKEN = /^dcia_(at_[0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;
/** Tokens created before ids were part of them (`dcia_<secret>`), found by their legacy lookup key. */
const LEGACY_TOKEN = /^dcia_[A-Za-z0-9_-]{43}$/;
const INFO_COLUMNS = "id, name, role, source, created_at, last_used_at, revoked_at";

/** Creates a token; the returned `token` is the only time the secret exists outside the caller. */
export async function createAdminToken(
  db: Db,
  options: { role: AdminRole; name?: string; now?: string },
): Promise<{ token: string; info: AdminTokenInfo }> {
  const id = `at_${randomBytes(8).toString("hex")}`;
  const token = `dcia_${id}_${randomBytes(32).toString("base64url")}`;
  await insertToken(db, id, token, { ...options, source: "cli" });
  return { token, info: getAdminToken(db, id)! };
}

async function insertToken(
  db: Db,
  id: string,
  token: string,
  options: { role: AdminRole; name?: string; now?: string; source: "cli" | "env" },
): Promise<void> {
  const { salt, hash } = await hashSecret(token);
  stmt(
    db,
    `INSERT INTO admin_tokens (id, name, role, source, salt, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(
    id,
    options.name ?? `${options.role} token`,
    options.role,
    options.source,
    salt,
    hash,
    options.now ?? new Date().toISOString(),
  );
}

/** One token's description. */
export function getAdminToken(db: Db, id: string): AdminTokenInfo | undefined {
  return stmt(db, `SELECT ${INFO_COLUMNS} FROM admin_tokens WHERE id = ?`).get(id) as
    | AdminTokenInfo
    | undefined;
}

/** Every token, newest first. */
export function listAdminTokens(db: Db): AdminTokenInfo[] {
  return stmt(db, `SELECT ${INFO_COLUMNS} FROM admin_tokens ORDER BY created_at DESC, rowid DESC`)
    .all() as unknown as AdminTokenInfo[];
}

/** Revokes a token at once; false if there is no such active token. */
export function revokeAdminToken(db: Db, id: string, now = new Date().toISOString()): boolean {
  return Number(
    stmt(db, "UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL").run(now, id)
      .changes,
  ) > 0;
}

/** Constant-time equality of two strings of any length (compares their SHA-256 digests). */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * The active token matching `token`, or undefined. `envToken` is the configured DCI_ADMIN_TOKEN: it matches
 * by constant-time comparison while its row is active. Any other token is looked up by its id (or, for a
 * legacy token, its lookup key) and checked with scrypt.
 */
export async function verifyAdminToken(
  db: Db,
  token: string,
  options: { envToken?: string } = {},
): Promise<AdminTokenInfo | undefined> {
  if (options.envToken && sameSecret(token, options.envToken)) {
    return stmt(
      db,
      `SELECT ${INFO_COLUMNS} FROM admin_tokens WHERE source = 'env' AND revoked_at IS NULL
       ORDER BY created_at DESC, rowid DESC LIMIT 1`,
    ).get() as AdminTokenInfo | undefined;
  }
  const id = TOKEN.exec(token)?.[1];
  let row: TokenRow | undefined;
  if (id) {
    row = stmt(db, "SELECT * FROM admin_tokens WHERE id = ? AND source = 'cli' AND revoked_at IS NULL")
      .get(id) as TokenRow | undefined;
  } else if (LEGACY_TOKEN.test(token)) {
    row = stmt(db, "SELECT * FROM admin_tokens WHERE lookup_key = ? AND revoked_at IS NULL")
      .get(lookupKey(token)) as TokenRow | undefined;
  }
  if (!row || !(await verifySecret(token, row))) return undefined;
  return getAdminToken(db, row.id);
}

/**
 * Registers DCI_ADMIN_TOKEN as an admin token unless the active env token already is it (checked with its
 * salted hash); env tokens it replaced are revoked. Returns true if it registered one.
 */
export async function ensureEnvAdminToken(
  db: Db,
  token: string,
  now = new Date().toISOString(),
): Promise<boolean> {
  const rows = stmt(db, "SELECT * FROM admin_tokens WHERE source = 'env' AND revoked_at IS NULL")
    .all() as unknown as TokenRow[];
  let current = false;
  for (const row of rows) {
    if (!current && await verifySecret(token, row)) current = true;
    else revokeAdminToken(db, row.id, now);
  }
  if (current) return false;
  const id = `at_${randomBytes(8).toString("hex")}`;
  await insertToken(db, id, token, { role: "admin", name: "DCI_ADMIN_TOKEN", now, source: "env" });
  return true;
}

/** Ids of active tokens in the legacy format (still accepted; operators should replace them). */
export function legacyAdminTokenIds(db: Db): string[] {
  return (stmt(db, "SELECT id FROM admin_tokens WHERE lookup_key IS NOT NULL AND revoked_at IS NULL")
    .all() as { id: string }[]).map((r) => r.id);
}
