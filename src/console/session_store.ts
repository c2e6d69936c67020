/**
 * Where console sessions are kept (migration 0020): the interface the console uses, and its embedded SQLite
 * implementation. Rows are found by the SHA-256 of the session id; what they carry for the next page (a flash
 * message, a sealed one-time secret) is opaque text here: src/console/session.ts seals and opens it.
 */
import type { Db } from "../db/sqlite.ts";
import { transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import type { AdminRole } from "../admin/tokens.ts";

/** A live session's row: its admin token's id, name and role, and when it expires (ms). */
export interface SessionRow {
  token_id: string;
  expires_at: number;
  name: string;
  role: AdminRole;
}

/** What a write kept for the session's next page (JSON text and sealed text, as stored). */
export interface KeptValues {
  flash: string | null;
  once: string | null;
}

/** The console's sessions, and the counts its dashboard shows. */
export interface ConsoleSessionStore {
  /** Stores a session by the hash of its id; removes expired sessions on the way. */
  create(idHash: string, tokenId: string, nowMs: number, expiresAt: number): Promise<void>;
  /** The session if live at `nowMs`: not expired, not ended, its admin token not revoked. */
  read(idHash: string, nowMs: number): Promise<SessionRow | undefined>;
  /** Ends a session (logout). */
  end(idHash: string): Promise<void>;
  /** Keeps values for the session's next page, replacing what was kept. */
  keep(idHash: string, values: KeptValues): Promise<void>;
  /** Takes what was kept (reads and clears it): of two pages loading at once, one gets it; else undefined. */
  take(idHash: string): Promise<KeptValues | undefined>;
  /** The dashboard's counts: active senders, OAuth clients not revoked, active admin tokens. */
  counts(): Promise<{ senders: number; clients: number; adminTokens: number }>;
}

/** The removal of expired sessions (`?`: now, ms). */
export const DELETE_EXPIRED = "DELETE FROM console_sessions WHERE expires_at <= ?";
/** A new session row. */
export const INSERT_SESSION =
  "INSERT INTO console_sessions (id_hash, token_id, created_at, expires_at) VALUES (?, ?, ?, ?)";
/** A live session with its admin token (`?`: the id hash, now). */
export const READ_SESSION = `SELECT s.token_id, s.expires_at, t.name, t.role FROM console_sessions s
     JOIN admin_tokens t ON t.id = s.token_id AND t.revoked_at IS NULL
     WHERE s.id_hash = ? AND s.expires_at > ?`;
/** The end of a session. */
export const END_SESSION = "DELETE FROM console_sessions WHERE id_hash = ?";
/** Values kept for the next page (`?`: flash, once, the id hash). */
export const KEEP_VALUES = "UPDATE console_sessions SET flash = ?, once = ? WHERE id_hash = ?";
/** The dashboard's counts, in one statement. */
export const DASHBOARD_COUNTS = `SELECT
  (SELECT count(*) FROM senders WHERE active = 1) AS senders,
  (SELECT count(*) FROM oauth_clients WHERE revoked_at IS NULL) AS clients,
  (SELECT count(*) FROM admin_tokens WHERE revoked_at IS NULL) AS "adminTokens"`;

/** The console sessions in the embedded SQLite database. */
export function sqliteSessionStore(db: Db): ConsoleSessionStore {
  return {
    create: (idHash, tokenId, nowMs, expiresAt) =>
      Promise.try(() => {
        transaction(db, () => {
          stmt(db, DELETE_EXPIRED).run(nowMs);
          stmt(db, INSERT_SESSION).run(idHash, tokenId, nowMs, expiresAt);
        });
      }),
    read: (idHash, nowMs) =>
      Promise.try(() => stmt(db, READ_SESSION).get(idHash, nowMs) as SessionRow | undefined),
    end: (idHash) =>
      Promise.try(() => {
        stmt(db, END_SESSION).run(idHash);
      }),
    keep: (idHash, values) =>
      Promise.try(() => {
        stmt(db, KEEP_VALUES).run(values.flash, values.once, idHash);
      }),
    take: (idHash) =>
      Promise.try(() => {
        const row = stmt(
          db,
          "SELECT flash, once FROM console_sessions WHERE id_hash = ? AND (flash IS NOT NULL OR once IS NOT NULL)",
        ).get(idHash) as KeptValues | undefined;
        // Cleared only if still the values read: of two pages loading at once, one shows them.
        const taken = row && Number(
              stmt(
                db,
                "UPDATE console_sessions SET flash = NULL, once = NULL WHERE id_hash = ? AND flash IS ? AND once IS ?",
              ).run(idHash, row.flash, row.once).changes,
            ) === 1;
        return taken ? { flash: row.flash, once: row.once } : undefined;
      }),
    counts: () =>
      Promise.try(() =>
        stmt(db, DASHBOARD_COUNTS).get() as Awaited<ReturnType<ConsoleSessionStore["counts"]>>
      ),
  };
}
