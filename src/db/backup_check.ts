/**
 * Checking a backup file before it is restored: it is a SQLite database, SQLite's integrity check passes, it
 * is a dci-server database, this binary may serve it (not migrated by a newer one), and the key-encryption
 * keys this configuration holds open its sealed secrets.
 */
import { DatabaseSync } from "node:sqlite";
import { assertServable, type SchemaState, schemaState } from "./schema_version.ts";
import { sealingKekIds } from "../keys/at_rest.ts";
import type { KeyEncryption } from "../keys/kek.ts";

/** A backup that cannot be restored, and why (the message says what to do). */
export class BackupInvalidError extends Error {}

/** What a valid backup holds. */
export interface BackupSummary extends SchemaState {
  /** Rows in a few tables an operator recognises. */
  counts: Record<string, number>;
  /** KEK fingerprints its sealed secrets need. */
  kekIds: string[];
}

/** Tables every dci-server database has (from the first migrations). */
const REQUIRED = ["schema_migrations", "server_keys", "senders", "transactions", "registrants"];

/** Validates the backup at `path` for a server holding `keks`; throws BackupInvalidError or DatabaseVersionError. */
export function checkBackup(path: string, keks: KeyEncryption): BackupSummary {
  let db: DatabaseSync;
  try {
    db = new DatabaseSync(path, { readOnly: true });
  } catch (err) {
    throw new BackupInvalidError(`${path} cannot be opened: ${(err as Error).message}`);
  }
  try {
    let rows: Array<{ integrity_check: string }>;
    try {
      rows = db.prepare("PRAGMA integrity_check(20)").all() as typeof rows;
    } catch (err) {
      // SQLITE_NOTADB (26): not a database at all; anything else (SQLITE_CORRUPT, ...): a damaged one.
      const notDb = (err as { errcode?: number }).errcode === 26;
      throw new BackupInvalidError(
        notDb
          ? `${path} is not a SQLite database`
          : `${path} fails SQLite's integrity check: ${(err as Error).message}`,
      );
    }
    const problems = rows.map((r) => r.integrity_check).filter((x) => x !== "ok");
    if (problems.length > 0) {
      throw new BackupInvalidError(`${path} fails SQLite's integrity check: ${problems.join("; ")}`);
    }
    const tables = new Set(
      (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as Array<{ name: string }>)
        .map((r) => r.name),
    );
    const missing = REQUIRED.filter((t) => !tables.has(t));
    if (missing.length > 0) {
      throw new BackupInvalidError(`${path} is not a dci-server database (no table ${missing.join(", ")})`);
    }
    const state = schemaState(db);
    assertServable(state, undefined, `The backup ${path}`);
    const kekIds = sealingKekIds(db);
    const held = [keks.current?.id, keks.previous?.id].filter((x): x is string => !!x);
    const lacking = kekIds.filter((id) => !held.includes(id));
    if (lacking.length > 0) {
      throw new BackupInvalidError(
        `${path} holds secrets encrypted with the key-encryption key ${lacking.join(" and ")}, ` +
          (held.length
            ? `but this configuration holds only ${held.join(" and ")}`
            : "and no key-encryption key is set") +
          ": set DCI_KEY_ENCRYPTION_KEY (or DCI_KEY_ENCRYPTION_KEY_FILE) to the key in use when the backup was taken",
      );
    }
    const counts: Record<string, number> = {};
    for (const t of ["registrants", "transactions", "senders", "subscriptions"]) {
      if (!tables.has(t)) continue;
      // Table names from the constant list above, never from input.
      counts[t] = Number((db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number }).n);
    }
    return { ...state, counts, kekIds };
  } finally {
    db.close();
  }
}
