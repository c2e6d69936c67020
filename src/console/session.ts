/**
 * Console sessions in the database (deps.storage.sessions, src/console/session_store.ts), so that every HTTP
 * isolate, every instance and a restarted server see the same ones. The cookie holds a random 256-bit id; the table holds its SHA-256. The CSRF token and the key sealing
 * the session's one-time values are derived from the id, so neither is stored and both die with the session.
 */
import {
  createCipheriv,
  createDecipheriv,
  createHash,
  createHmac,
  randomBytes,
  timingSafeEqual,
} from "node:crypto";
import type { Deps } from "../deps.ts";
import type { AdminRole } from "../admin/tokens.ts";
import { sha256Hex } from "../auth/secrets.ts";

/** A live console session. */
export interface ConsoleSession {
  /** The cookie value (the secret session id). */
  id: string;
  /** The admin token that logged in: the actor of every write. */
  tokenId: string;
  tokenName: string;
  role: AdminRole;
  /** The per-session CSRF token every form carries. */
  csrf: string;
  expiresAt: number;
}

/** The cookie's name. */
export const SESSION_COOKIE = "dci_console";

/** A session id as the cookie carries it: 32 random bytes, base64url. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** Starts a session for `tokenId`; returns the cookie value. Expired sessions are removed on the way. */
export async function createSession(deps: Deps, tokenId: string): Promise<{ id: string; expiresAt: number }> {
  const now = deps.clock.now();
  const id = randomBytes(32).toString("base64url");
  const expiresAt = now + deps.config.consoleSessionTtl * 1000;
  await deps.storage.sessions.create(sha256Hex(id), tokenId, now, expiresAt);
  return { id, expiresAt };
}

/** The live session for a cookie value: not expired, not logged out, its admin token not revoked. */
export async function readSession(deps: Deps, id: string | undefined): Promise<ConsoleSession | undefined> {
  if (!id || !SESSION_ID.test(id)) return undefined;
  const row = await deps.storage.sessions.read(sha256Hex(id), deps.clock.now());
  if (!row) return undefined;
  return {
    id,
    tokenId: row.token_id,
    tokenName: row.name,
    role: row.role,
    csrf: derive(id, "csrf").toString("base64url"),
    expiresAt: row.expires_at,
  };
}

/** Ends a session (logout). */
export function endSession(deps: Deps, id: string): Promise<void> {
  return deps.storage.sessions.end(sha256Hex(id));
}

/** Whether `presented` is the session's CSRF token (constant time). */
export function csrfMatches(session: ConsoleSession, presented: unknown): boolean {
  if (typeof presented !== "string" || presented.length > 100) return false;
  // Digests of equal length, so the comparison takes the same time whatever was presented.
  const digest = (s: string) => createHash("sha256").update(s, "utf8").digest();
  return timingSafeEqual(digest(presented), digest(session.csrf));
}

/** What the next page of this session shows once: a flash message, and a secret (a new token or client secret). */
export interface OnceValues {
  flash?: { kind: "ok" | "error"; text: string };
  secret?: { title: string; label: string; value: string; note?: string };
}

/** Keeps `values` for the session's next page (after the redirect that follows a write). */
export function keepForNextPage(deps: Deps, session: ConsoleSession, values: OnceValues): Promise<void> {
  return deps.storage.sessions.keep(sha256Hex(session.id), {
    flash: values.flash ? JSON.stringify(values.flash) : null,
    once: values.secret ? sealFor(session.id, JSON.stringify(values.secret)) : null,
  });
}

/** Takes (reads and clears) what the previous write kept for this page. */
export async function takeForThisPage(deps: Deps, session: ConsoleSession): Promise<OnceValues> {
  const row = await deps.storage.sessions.take(sha256Hex(session.id));
  if (!row) return {};
  const out: OnceValues = {};
  if (row.flash) out.flash = JSON.parse(row.flash);
  if (row.once) {
    const opened = openFor(session.id, row.once);
    if (opened) out.secret = JSON.parse(opened);
  }
  return out;
}

function derive(id: string, purpose: string): Buffer {
  return createHmac("sha256", id).update(`dci-console:${purpose}`).digest();
}

function sealFor(id: string, text: string): string {
  const iv = randomBytes(12);
  const cipher = createCipheriv("aes-256-gcm", derive(id, "once"), iv);
  const body = Buffer.concat([cipher.update(text, "utf8"), cipher.final()]);
  return Buffer.concat([iv, cipher.getAuthTag(), body]).toString("base64");
}

function openFor(id: string, sealed: string): string | undefined {
  try {
    const raw = Buffer.from(sealed, "base64");
    const decipher = createDecipheriv("aes-256-gcm", derive(id, "once"), raw.subarray(0, 12));
    decipher.setAuthTag(raw.subarray(12, 28));
    return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString("utf8");
  } catch {
    return undefined;
  }
}
