/** OAuth2 clients: each belongs to one sender, has scopes, and a secret stored only as a scrypt hash. */
import { Buffer } from "node:buffer";
import { randomBytes } from "node:crypto";
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { hashSecret, randomToken, type SecretHash, verifySecret } from "../auth/secrets.ts";
import { noSuchSender, SenderError } from "./errors.ts";
import type { ClientRow } from "./client_store.ts";
import { ipLimitKey } from "../net/client_address.ts";

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

function toInfo(r: ClientRow): ClientInfo {
  return {
    client_id: r.client_id,
    sender_id: r.sender_id,
    name: r.name,
    scopes: r.scopes.split(" ").filter(Boolean),
    active: r.active === 1,
    created_at: r.created_at,
    secret_rotated_at: r.secret_rotated_at,
    revoked_at: r.revoked_at,
  };
}

/**
 * Validates a scope list: DEFAULT_SCOPES when none is given; empty items (`a,,b`) are dropped, every other one
 * must be known, and a list with no scope left is refused (a client without scopes can do nothing).
 */
export function parseScopes(scopes: string[] | undefined): string[] {
  if (scopes === undefined) return [...DEFAULT_SCOPES];
  const given = scopes.map((s) => s.trim()).filter((s) => s !== "");
  if (given.length === 0) {
    throw new SenderError(
      "invalid",
      `name at least one scope (of ${SCOPES.join(", ")}), or leave scopes out`,
    );
  }
  const bad = given.find((s) => !(SCOPES as readonly string[]).includes(s));
  if (bad !== undefined) {
    throw new SenderError("invalid", `scope "${bad}" is unknown (one of ${SCOPES.join(", ")})`);
  }
  return [...new Set(given)];
}

/** Creates a client for a sender; the returned secret is shown once and stored only hashed. */
export async function createClient(
  deps: Deps,
  senderId: string,
  options: { scopes?: string[]; name?: string } = {},
): Promise<{ client: ClientInfo; clientSecret: string }> {
  if (!await deps.storage.senders.get(senderId)) throw noSuchSender(senderId);
  const scopes = parseScopes(options.scopes);
  const clientId = `dcic_${randomBytes(9).toString("base64url")}`;
  const clientSecret = randomToken("dcis");
  const hash = await hashSecret(clientSecret);
  const stored = await deps.storage.clients.insert({
    client_id: clientId,
    sender_id: senderId,
    name: options.name ?? null,
    secret_hash: JSON.stringify(hash),
    scopes: scopes.join(" "),
    created_at: isoNow(deps.clock),
  });
  if (!stored) throw noSuchSender(senderId);
  return { client: (await getClient(deps, clientId))!, clientSecret };
}

/** One client by id. */
export async function getClient(deps: Deps, clientId: string): Promise<ClientInfo | undefined> {
  const row = await deps.storage.clients.get(clientId);
  return row ? toInfo(row) : undefined;
}

/** Every client, optionally of one sender. */
export async function listClients(deps: Deps, senderId?: string): Promise<ClientInfo[]> {
  return (await deps.storage.clients.list(senderId)).map(toInfo);
}

/** A page of clients and the cursor of the next one (undefined on the last). */
export interface ClientsPage {
  clients: ClientInfo[];
  next?: string;
}

/** Clients (of one sender, or all) a page at a time (at most 500), after `after` (a page's `next`). */
export async function pageClients(
  deps: Deps,
  query: { senderId?: string; after?: string; limit?: number },
): Promise<ClientsPage> {
  const limit = Math.min(Math.max(query.limit ?? 50, 1), 500);
  const after = query.after ? clientCursor(query.after) : undefined;
  const rows = await deps.storage.clients.list(query.senderId, { after, limit: limit + 1 });
  const clients = rows.slice(0, limit).map(toInfo);
  const last = clients.at(-1);
  const next = rows.length > limit && last
    ? Buffer.from(JSON.stringify([last.created_at, last.client_id])).toString("base64url")
    : undefined;
  return { clients, ...(next ? { next } : {}) };
}

function clientCursor(raw: string): { created_at: string; client_id: string } {
  try {
    const [created_at, client_id] = JSON.parse(Buffer.from(raw.slice(0, 1000), "base64url").toString("utf8"));
    // Its strings are bound as text: a NUL in one (PostgreSQL refuses it) is no cursor of this list either.
    if (
      typeof created_at === "string" && typeof client_id === "string" &&
      !`${created_at}${client_id}`.includes("\0")
    ) {
      return { created_at, client_id };
    }
  } catch { /* refused below */ }
  throw new SenderError(
    "invalid",
    "after is not a cursor of this list (use next_after of the previous page)",
  );
}

/** Revokes a client: its tokens stop working at the next request (its row is read on each). */
export async function revokeClient(deps: Deps, clientId: string): Promise<ClientInfo> {
  const row = await deps.storage.clients.revoke(clientId, isoNow(deps.clock));
  if (!row) throw new SenderError("not_found", `client "${clientId}" does not exist or is already revoked`);
  return toInfo(row);
}

/**
 * When a client's current secret was set, as access tokens carry it (`secret_rotated_at`): the rotation's time in
 * ms, 0 for the secret it was created with.
 */
export function secretRotatedAtMs(client: { secret_rotated_at: string | null }): number {
  return client.secret_rotated_at === null ? 0 : Date.parse(client.secret_rotated_at);
}

/**
 * Replaces a client's secret; the new one is shown once. Every token obtained with an earlier secret stops at
 * its next use (the bearer check compares its `secret_rotated_at` with the client row's).
 */
export async function rotateClientSecret(deps: Deps, clientId: string): Promise<{ clientSecret: string }> {
  const refused = () => new SenderError("not_found", `client "${clientId}" is unknown or revoked`);
  const client = await getClient(deps, clientId);
  if (!client || !client.active) throw refused();
  const clientSecret = randomToken("dcis");
  const hash = await hashSecret(clientSecret);
  // Each rotation a later stamp than the one before, even within a millisecond (or a clock set back): the stamp
  // is what tells the tokens of one secret from the next.
  const at = Math.max(deps.clock.now(), secretRotatedAtMs(client) + 1);
  // Written only while the client is still active: a revoke during the hashing is not undone.
  if (!await deps.storage.clients.setSecret(clientId, JSON.stringify(hash), new Date(at).toISOString())) {
    throw refused();
  }
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
 * hashing), the lockout of the client id from this address after failed attempts, and only then scrypt, within the isolate's bound on
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
  clientIp: string,
): Promise<ClientAuthResult> {
  // No client id holds a control character; PostgreSQL refuses a NUL in any text it is sent (an error, not "no
  // such client"), so such an id is answered as unknown before the lookup, on both backends alike.
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(clientId)) return { ok: false, reason: "invalid" };
  const row = await deps.storage.clients.forAuth(clientId);
  if (!row || row.active !== 1 || row.sender_active !== 1) return { ok: false, reason: "invalid" };
  const storedHash = row.secret_hash;
  if (deps.tokenGuard.isVerified(clientId, secret, storedHash)) return { ok: true, client: toInfo(row) };
  const now = deps.clock.now();
  // Counted per client id and address: a client id is not a secret (it is in tokens, logs, partners' settings),
  // so failures counted per id alone let anyone lock a partner out of every instance with ten wrong secrets a
  // minute. A secret's 256 bits need no lockout shared across addresses.
  const failKey = `${clientId} ${ipLimitKey(clientIp)}`;
  const lock = await deps.storage.limits.clientLockout(failKey, deps.config.tokenClientFailureLimit, now);
  if (lock.locked) return { ok: false, reason: "locked", retryAfter: lock.retryAfter };
  // An id with recent failures is hashed only on an idle slot: guesses never queue ahead of a new client.
  const verified = await deps.tokenGuard.withHashSlot(clientId, () => {
    deps.metrics.inc("dci_token_secret_hashes_total", "Client secrets hashed (scrypt) by the token endpoint");
    return verifySecret(secret, JSON.parse(storedHash) as SecretHash);
  }, { suspect: lock.failures > 0 });
  if (!verified) return { ok: false, reason: "busy", retryAfter: 1 };
  if (!verified.value) {
    await deps.storage.limits.recordClientFailure(failKey, deps.clock.now());
    return { ok: false, reason: "invalid" };
  }
  deps.tokenGuard.remember(clientId, secret, storedHash);
  return { ok: true, client: toInfo(row) };
}
