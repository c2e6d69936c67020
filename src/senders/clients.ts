/** OAuth2 clients: each belongs to one sender, has scopes, and a secret stored only as a scrypt hash. */
import { randomBytes } from "node:crypto";
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { hashSecret, randomToken, type SecretHash, verifySecret } from "../auth/secrets.ts";
import { requireSender } from "./keys.ts";
import { SenderError } from "./store.ts";
import { stmt } from "../db/statements.ts";

/** The scopes a client holds when none are asked for: reading, subscribing, receipts. */
export const DEFAULT_SCOPES = [
  "registry.search",
  "registry.subscribe",
  "registry.txn-status",
  "registry.receipt",
] as const;

/**
 * The scopes a client may hold: the default ones and `registry.enrollment` (an SP system writing beneficiaries
 * into the IBR through `sync/enrollment/updates`), which writes records and so is granted only when asked for.
 */
export const SCOPES = [...DEFAULT_SCOPES, "registry.enrollment"] as const;

/** A client as listed (never the secret or its hash). */
export interface ClientInfo {
  client_id: string;
  sender_id: string;
  name: string | null;
  scopes: string[];
  active: boolean;
  created_at: string;
  secret_rotated_at: string | null;
  revoked_at: string | null;
}

type Row = Record<string, string | number | null>;

function toInfo(r: Row): ClientInfo {
  return {
    client_id: r.client_id as string,
    sender_id: r.sender_id as string,
    name: r.name as string | null,
    scopes: (r.scopes as string).split(" ").filter(Boolean),
    active: r.active === 1,
    created_at: r.created_at as string,
    secret_rotated_at: r.secret_rotated_at as string | null,
    revoked_at: r.revoked_at as string | null,
  };
}

/** Validates a scope list (defaults to DEFAULT_SCOPES). */
export function parseScopes(scopes: string[] | undefined): string[] {
  if (!scopes || scopes.length === 0) return [...DEFAULT_SCOPES];
  const bad = scopes.find((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad) throw new SenderError("invalid", `scope "${bad}" is unknown (one of ${SCOPES.join(", ")})`);
  return [...new Set(scopes)];
}

/** Creates a client for a sender; the returned secret is shown once and stored only hashed. */
export async function createClient(
  deps: Deps,
  senderId: string,
  options: { scopes?: string[]; name?: string } = {},
): Promise<{ client: ClientInfo; clientSecret: string }> {
  requireSender(deps, senderId);
  const scopes = parseScopes(options.scopes);
  const clientId = `dcic_${randomBytes(9).toString("base64url")}`;
  const clientSecret = randomToken("dcis");
  const hash = await hashSecret(clientSecret);
  stmt(
    deps.db,
    `INSERT INTO oauth_clients (client_id, sender_id, name, secret_hash, scopes, created_at)
     VALUES (?, ?, ?, ?, ?, ?)`,
  ).run(clientId, senderId, options.name ?? null, JSON.stringify(hash), scopes.join(" "), isoNow(deps.clock));
  return { client: getClient(deps, clientId)!, clientSecret };
}

/** One client by id. */
export function getClient(deps: Deps, clientId: string): ClientInfo | undefined {
  const row = stmt(deps.db, "SELECT * FROM oauth_clients WHERE client_id = ?").get(clientId) as
    | Row
    | undefined;
  return row ? toInfo(row) : undefined;
}

/** Every client, optionally of one sender. */
export function listClients(deps: Deps, senderId?: string): ClientInfo[] {
  const rows = senderId
    ? stmt(deps.db, "SELECT * FROM oauth_clients WHERE sender_id = ? ORDER BY created_at, client_id").all(
      senderId,
    )
    : stmt(deps.db, "SELECT * FROM oauth_clients ORDER BY created_at, client_id").all();
  return (rows as Row[]).map(toInfo);
}

/** Revokes a client: its tokens stop working at the next request (checked in SQLite each time). */
export function revokeClient(deps: Deps, clientId: string): ClientInfo {
  const res = stmt(
    deps.db,
    "UPDATE oauth_clients SET active = 0, revoked_at = ? WHERE client_id = ? AND active = 1",
  ).run(isoNow(deps.clock), clientId);
  if (res.changes === 0) {
    throw new SenderError("not_found", `client "${clientId}" does not exist or is already revoked`);
  }
  return getClient(deps, clientId)!;
}

/** Replaces a client's secret; the new one is shown once. Tokens already issued stay valid until they expire. */
export async function rotateClientSecret(deps: Deps, clientId: string): Promise<{ clientSecret: string }> {
  const client = getClient(deps, clientId);
  if (!client || !client.active) {
    throw new SenderError("not_found", `client "${clientId}" is unknown or revoked`);
  }
  const clientSecret = randomToken("dcis");
  const hash = await hashSecret(clientSecret);
  stmt(deps.db, "UPDATE oauth_clients SET secret_hash = ?, secret_rotated_at = ? WHERE client_id = ?")
    .run(JSON.stringify(hash), isoNow(deps.clock), clientId);
  return { clientSecret };
}

/** The outcome of a client authentication. */
export type ClientAuthResult =
  | { ok: true; client: ClientInfo }
  | { ok: false; reason: "invalid" }
  | { ok: false; reason: "locked" | "busy"; retryAfter: number };

/**
 * Checks client credentials, cheapest checks first: the client row (unknown, revoked or of a disabled sender:
 * refused without hashing), a credential this isolate already verified against the same stored hash (no
 * hashing), the client id's lockout after failed attempts, and only then scrypt, within the isolate's bound on
 * concurrent hashes (an id that failed recently does not queue for it). A wrong secret counts towards the
 * lockout.
 *
 * Unknown ids are answered without a hash, so timing tells whether a client id exists. That is accepted: a
 * client id is an identifier, not a secret (RFC 6749 §2.2), it carries 72 random bits so ids cannot be found by
 * guessing, and hashing against a dummy would hand every flood of made-up ids the full scrypt cost.
 */
export async function authenticateClient(
  deps: Deps,
  clientId: string,
  secret: string,
): Promise<ClientAuthResult> {
  const row = stmt(
    deps.db,
    `SELECT c.*, s.active AS sender_active FROM oauth_clients c JOIN senders s USING (sender_id)
     WHERE c.client_id = ?`,
  ).get(clientId) as Row | undefined;
  if (!row || row.active !== 1 || row.sender_active !== 1) return { ok: false, reason: "invalid" };
  const storedHash = row.secret_hash as string;
  if (deps.tokenGuard.isVerified(clientId, secret, storedHash)) return { ok: true, client: toInfo(row) };
  const now = deps.clock.now();
  const lock = await deps.storage.limits.clientLockout(clientId, deps.config.tokenClientFailureLimit, now);
  if (lock.locked) return { ok: false, reason: "locked", retryAfter: lock.retryAfter };
  // An id with recent failures is hashed only on an idle slot: guesses never queue ahead of a new client.
  const verified = await deps.tokenGuard.withHashSlot(clientId, () => {
    deps.metrics.inc("dci_token_secret_hashes_total", "Client secrets hashed (scrypt) by the token endpoint");
    return verifySecret(secret, JSON.parse(storedHash) as SecretHash);
  }, { suspect: lock.failures > 0 });
  if (!verified) return { ok: false, reason: "busy", retryAfter: 1 };
  if (!verified.value) {
    await deps.storage.limits.recordClientFailure(clientId, deps.clock.now());
    return { ok: false, reason: "invalid" };
  }
  deps.tokenGuard.remember(clientId, secret, storedHash);
  return { ok: true, client: toInfo(row) };
}
