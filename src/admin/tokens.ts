/**
 * Admin API tokens: created (shown once), listed, revoked, verified. A token is `dcia_<id>_<secret>`: the row is
 * found by its id and holds only a salted scrypt hash, so a stolen database gives nothing to test guesses
 * against quickly. DCI_ADMIN_TOKEN (any phrase of 24+ characters) is compared with the configured value itself.
 */
import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { type Db, transaction } from "../db/sqlite.ts";
import { hashSecret, lookupKey, type SecretHash, sha256Hex, verifySecret } from "../auth/secrets.ts";
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

/** A stored token row: its description and its salted hash. */
export type AdminTokenRow = AdminTokenInfo & SecretHash;
type TokenRow = AdminTokenRow;

/** `dcia_<id>_<secret>`: the id finds the row, the 256-bit secret is what the hash protects. */
const TOKEN = /^dcia_(at_[0-9a-f]{16})_[A-Za-z0-9_-]{43}$/;
/** Tokens created before ids were part of them (`dcia_<secret>`), found by their legacy lookup key. */
const LEGACY_TOKEN = /^dcia_[A-Za-z0-9_-]{43}$/;
const INFO_COLUMNS = "id, name, role, source, created_at, last_used_at, revoked_at";

/** The INSERT of one token row (`?` placeholders) and, below, its values. */
export const INSERT_TOKEN =
  `INSERT INTO admin_tokens (id, name, role, source, salt, hash, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)`;

/** The options of a token to register: its role, label, creation time and where it came from. */
export interface NewTokenOptions {
  role: AdminRole;
  name?: string;
  now?: string;
  source: "cli" | "env";
}

/** A new token id, `at_` and 64 random bits. */
export function newTokenId(): string {
  return `at_${randomBytes(8).toString("hex")}`;
}

/** A new token id and its token, `dcia_<id>_<secret>` (the secret exists only in what this returns). */
export function newAdminToken(): { id: string; token: string } {
  const id = newTokenId();
  return { id, token: `dcia_${id}_${randomBytes(32).toString("base64url")}` };
}

/** The bound values of INSERT_TOKEN: the token is stored only as its salted hash. */
export async function tokenValues(id: string, token: string, options: NewTokenOptions): Promise<string[]> {
  const { salt, hash } = await hashSecret(token);
  return [
    id,
    options.name ?? `${options.role} token`,
    options.role,
    options.source,
    salt,
    hash,
    options.now ?? new Date().toISOString(),
  ];
}

/** Creates a token; the returned `token` is the only time the secret exists outside the caller. */
export async function createAdminToken(
  db: Db,
  options: { role: AdminRole; name?: string; now?: string },
): Promise<{ token: string; info: AdminTokenInfo }> {
  const { id, token } = newAdminToken();
  stmt(db, INSERT_TOKEN).run(...await tokenValues(id, token, { ...options, source: "cli" }));
  return { token, info: getAdminToken(db, id)! };
}

/** One token's description (`?`: its id). */
export const GET_TOKEN = `SELECT ${INFO_COLUMNS} FROM admin_tokens WHERE id = ?`;

/** One token's description. */
export function getAdminToken(db: Db, id: string): AdminTokenInfo | undefined {
  return stmt(db, GET_TOKEN).get(id) as AdminTokenInfo | undefined;
}

/** Every token, newest first. */
export function listAdminTokens(db: Db): AdminTokenInfo[] {
  return stmt(db, `SELECT ${INFO_COLUMNS} FROM admin_tokens ORDER BY created_at DESC, rowid DESC`)
    .all() as unknown as AdminTokenInfo[];
}

/** The revocation of an active token (`?`: the time, the id). */
export const REVOKE_TOKEN = "UPDATE admin_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL";

/** Revokes a token at once; false if there is no such active token. */
export function revokeAdminToken(db: Db, id: string, now = new Date().toISOString()): boolean {
  return Number(stmt(db, REVOKE_TOKEN).run(now, id).changes) > 0;
}

/** The role of a token while it is active (`?`: its id): what a cached verification re-reads. */
export const ACTIVE_ROLE = "SELECT role FROM admin_tokens WHERE id = ? AND revoked_at IS NULL";

/** Records when a token was last verified (both backends). */
export const TOUCH = "UPDATE admin_tokens SET last_used_at = ? WHERE id = ?";

/** Constant-time equality of two strings of any length (compares their SHA-256 digests). */
function sameSecret(a: string, b: string): boolean {
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(a), digest(b));
}

/**
 * Which row a presented token would be: the configured DCI_ADMIN_TOKEN (`envToken`, matched by constant-time
 * comparison), a token of ours by its id, a legacy token by its lookup key; undefined when it is none of these.
 */
export function tokenLookup(
  token: string,
  envToken?: string,
): { by: "env" } | { by: "id"; id: string } | { by: "legacy"; key: string } | undefined {
  if (envToken && sameSecret(token, envToken)) return { by: "env" };
  const id = TOKEN.exec(token)?.[1];
  if (id) return { by: "id", id };
  if (LEGACY_TOKEN.test(token)) return { by: "legacy", key: lookupKey(token) };
  return undefined;
}

/** The newest active env token (SQLite's insertion order breaks a tie of creation times). */
const ACTIVE_ENV_TOKEN = `SELECT * FROM admin_tokens WHERE source = 'env' AND revoked_at IS NULL
       ORDER BY created_at DESC, rowid DESC LIMIT 1`;
/** An active created token by its id. */
export const ACTIVE_CLI_TOKEN =
  "SELECT * FROM admin_tokens WHERE id = ? AND source = 'cli' AND revoked_at IS NULL";
/** An active legacy token by its lookup key. */
export const ACTIVE_LEGACY_TOKEN = "SELECT * FROM admin_tokens WHERE lookup_key = ? AND revoked_at IS NULL";

/** The description of a token row (never its hash). */
export function tokenInfo(row: TokenRow): AdminTokenInfo {
  const { id, name, role, source, created_at, last_used_at, revoked_at } = row;
  return { id, name, role, source, created_at, last_used_at, revoked_at };
}

/**
 * The hash check of a presented token against the active row it names, found without hashing: a caller can count
 * only the checks that cost scrypt (src/admin/login_limit.ts).
 */
export interface AdminTokenCheck {
  /** Runs the check (scrypt, or the env phrase's remembered one): the token's description when it matches. */
  verify(): Promise<AdminTokenInfo | undefined>;
}

/** The check of `token` against `row` (undefined when there is no such active row: nothing to hash). */
export function tokenCheck(
  row: TokenRow | undefined,
  token: string,
  options: { by: "env" | "id" | "legacy" },
): AdminTokenCheck | undefined {
  if (!row) return undefined;
  if (options.by === "env") return { verify: () => envTokenInfo(row, token) };
  return { verify: async () => (await verifySecret(token, row)) ? tokenInfo(row) : undefined };
}

/**
 * The check of `token` when it names an active row, else undefined (malformed, unknown id, revoked). `envToken`
 * is the configured DCI_ADMIN_TOKEN: it names the active env row by constant-time comparison. Any other token
 * names a row by its id (or, for a legacy token, its lookup key).
 */
export function findAdminToken(
  db: Db,
  token: string,
  options: { envToken?: string } = {},
): AdminTokenCheck | undefined {
  const at = tokenLookup(token, options.envToken);
  if (at === undefined) return undefined;
  const row = at.by === "env"
    ? stmt(db, ACTIVE_ENV_TOKEN).get()
    : at.by === "id"
    ? stmt(db, ACTIVE_CLI_TOKEN).get(at.id)
    : stmt(db, ACTIVE_LEGACY_TOKEN).get(at.key);
  return tokenCheck(row as TokenRow | undefined, token, { by: at.by });
}

/** The active token matching `token` (found by `findAdminToken`, then checked with scrypt), or undefined. */
export async function verifyAdminToken(
  db: Db,
  token: string,
  options: { envToken?: string } = {},
): Promise<AdminTokenInfo | undefined> {
  return await findAdminToken(db, token, options)?.verify();
}

/** Env rows this process has checked its DCI_ADMIN_TOKEN against: `${row id}:${SHA-256 of the phrase}` → match. */
const envChecks = new Map<string, boolean>();

/**
 * The active env token `row` when DCI_ADMIN_TOKEN (`token`) is its phrase (one scrypt per row and phrase, then
 * remembered): an instance still configured with a phrase another instance replaced, or one an operator revoked,
 * is not taken for the new row.
 */
export async function envTokenInfo(
  row: TokenRow | undefined,
  token: string,
): Promise<AdminTokenInfo | undefined> {
  if (!row) return undefined;
  const key = `${row.id}:${sha256Hex(token)}`;
  let matches = envChecks.get(key);
  if (matches === undefined) {
    matches = await verifySecret(token, row);
    if (envChecks.size >= 64) envChecks.clear();
    envChecks.set(key, matches);
  }
  return matches ? tokenInfo(row) : undefined;
}

/**
 * The env tokens revoked last, which DCI_ADMIN_TOKEN is checked against at start (one scrypt each): a revoked
 * phrase still in the environment is not registered again.
 */
export const REVOKED_ENV_ROWS = `SELECT * FROM admin_tokens WHERE source = 'env' AND revoked_at IS NOT NULL
  ORDER BY revoked_at DESC LIMIT 20`;

/** What registering DCI_ADMIN_TOKEN at start did. */
export type EnvTokenOutcome =
  | "registered" // a new env token (replacing the active one, if any)
  | "current" // the active env token already is it
  | "revoked"; // it was revoked: not registered, not accepted

/** Whether `token` is the phrase of one of the revoked env token `rows`. */
export async function envTokenRevoked(rows: readonly TokenRow[], token: string): Promise<boolean> {
  for (const row of rows) if (await verifySecret(token, row)) return true;
  return false;
}

/** Every active env token row. */
export const ACTIVE_ENV_ROWS = "SELECT * FROM admin_tokens WHERE source = 'env' AND revoked_at IS NULL";

/**
 * Of the active env token rows, whether one already is `token` (checked with its salted hash) and the ids of
 * the others, which it replaces.
 */
export async function envTokenState(
  rows: readonly TokenRow[],
  token: string,
): Promise<{ current: boolean; replaced: string[] }> {
  let current = false;
  const replaced: string[] = [];
  for (const row of rows) {
    if (!current && await verifySecret(token, row)) current = true;
    else replaced.push(row.id);
  }
  return { current, replaced };
}

/**
 * Registers DCI_ADMIN_TOKEN as an admin token unless the active env token already is it (checked with its
 * salted hash), or it was revoked (an operator revoked a leaked token: a restart with it still in the environment
 * must not bring it back); env tokens it replaced are revoked.
 */
export async function ensureEnvAdminToken(
  db: Db,
  token: string,
  now = new Date().toISOString(),
): Promise<EnvTokenOutcome> {
  while (true) {
    const rows = stmt(db, ACTIVE_ENV_ROWS).all() as unknown as TokenRow[];
    const state = await envTokenState(rows, token);
    if (
      !state.current &&
      await envTokenRevoked(stmt(db, REVOKED_ENV_ROWS).all() as unknown as TokenRow[], token)
    ) {
      return "revoked";
    }
    // Nothing to write (every start with the same token): no write lock to wait for.
    if (state.current && state.replaced.length === 0) return "current";
    const values = state.current ? undefined : await tokenValues(newTokenId(), token, {
      role: "admin",
      name: "DCI_ADMIN_TOKEN",
      now,
      source: "env",
    });
    const done = transaction(db, () => {
      // The checks above await scrypt: if another start changed the env rows meanwhile, check again.
      const ids = (stmt(db, ACTIVE_ENV_ROWS).all() as unknown as TokenRow[]).map((r) => r.id).sort();
      if (ids.join() !== rows.map((r) => r.id).sort().join()) return false;
      for (const id of state.replaced) revokeAdminToken(db, id, now);
      if (values) stmt(db, INSERT_TOKEN).run(...values);
      return true;
    });
    if (done) return values ? "registered" : "current";
  }
}

/** Ids of active tokens in the legacy format. */
export const LEGACY_IDS = "SELECT id FROM admin_tokens WHERE lookup_key IS NOT NULL AND revoked_at IS NULL";

/** Ids of active tokens in the legacy format (still accepted; operators should replace them). */
export function legacyAdminTokenIds(db: Db): string[] {
  return (stmt(db, LEGACY_IDS).all() as { id: string }[]).map((r) => r.id);
}
