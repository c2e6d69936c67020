/**
 * Bringing stored secrets in line with the key-encryption keys at start: plaintext values are sealed when a KEK
 * is set, values sealed with the previous KEK are re-sealed with the current one (or opened back to plaintext
 * when only a previous KEK is given), and a sealed value no given KEK opens stops the start with a message
 * naming the missing KEK.
 */
import type { Db } from "../db/sqlite.ts";
import { transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { base64ToBytes, bytesToBase64, privateKeyAad } from "./server_keys.ts";
import { outboundSecretAad } from "../senders/outbound_secret.ts";
import { isSealed, type KeyEncryption, seal, sealedWith, unseal } from "./kek.ts";

/** A column holding secrets the server must read back (so it cannot be hashed): sealed when a KEK is set. */
export interface SecretColumn {
  table: string;
  id: string;
  column: string;
  /** The additional data binding a sealed value to its row. */
  aad(id: string): string;
}

/** Every stored secret the server reads back. */
export const SECRET_COLUMNS: readonly SecretColumn[] = [
  { table: "server_keys", id: "key_id", column: "private_der", aad: privateKeyAad },
  { table: "senders", id: "sender_id", column: "outbound_secret", aad: outboundSecretAad },
];

/** What `sealSecretsAtRest` changed, by kind. */
export interface SealReport {
  sealed: number;
  resealed: number;
  opened: number;
}

/**
 * Seals, re-seals or opens stored secrets to match `keks`; throws a KeyEncryptionError (before changing
 * anything) when a sealed value cannot be opened. Plaintext is overwritten, not left behind: secure_delete
 * zeroes the old cells and the WAL is truncated after the change.
 */
export function sealSecretsAtRest(db: Db, keks: KeyEncryption): SealReport {
  const stored = () =>
    SECRET_COLUMNS.flatMap((col) =>
      (stmt(db, selectSecrets(col)).all() as unknown as { id: string; value: string }[]).map((r) => ({
        col,
        ...r,
      }))
    );
  // Read without the write lock first: a start with nothing to change takes none.
  const first = sealChanges(stored(), keks);
  if (first.changes.length === 0) return first.report;
  let report: SealReport;
  db.exec("PRAGMA secure_delete = ON");
  try {
    // Read again under the write lock: a secret another process wrote since (a CLI `sender update`, an admin
    // request to a server sharing the data dir) is sealed as it now is, never overwritten with the value before.
    report = transaction(db, () => {
      const { changes, report } = sealChanges(stored(), keks);
      for (const { col, id, value } of changes) {
        stmt(db, updateSecret(col)).run(value, id);
      }
      return report;
    });
  } finally {
    db.exec("PRAGMA secure_delete = OFF");
  }
  // The replaced pages live on in the WAL until it is checkpointed and truncated; another connection may
  // hold it open (it is then truncated by a later checkpoint), so this is best effort.
  db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  return report;
}

/** A stored secret and where it is. */
export interface StoredSecret {
  col: SecretColumn;
  id: string;
  value: string;
}

/** The SELECT of a column's stored secrets (`id`, `value`). Names come from SECRET_COLUMNS, never from input. */
export function selectSecrets(col: SecretColumn): string {
  return `SELECT ${col.id} AS id, ${col.column} AS value FROM ${col.table} WHERE ${col.column} IS NOT NULL`;
}

/** The UPDATE of one stored secret (`?`: the new value, the row's id). */
export function updateSecret(col: SecretColumn): string {
  return `UPDATE ${col.table} SET ${col.column} = ? WHERE ${col.id} = ?`;
}

/**
 * The new values of the stored secrets that `keks` changes (sealed, re-sealed or opened), and the counts; throws
 * a KeyEncryptionError when a sealed value cannot be opened, so nothing is changed.
 */
export function sealChanges(
  secrets: readonly StoredSecret[],
  keks: KeyEncryption,
): { changes: StoredSecret[]; report: SealReport } {
  const report: SealReport = { sealed: 0, resealed: 0, opened: 0 };
  const changes: StoredSecret[] = [];
  for (const { col, id, value } of secrets) {
    const sealed = isSealed(value);
    if (!sealed && !keks.current) continue;
    if (sealed && keks.current && sealedWith(value) === keks.current.id) continue;
    const plain = sealed ? unseal(keks, value, col.aad(id)) : base64ToBytes(value);
    const next = keks.current ? seal(keks.current, plain, col.aad(id)) : bytesToBase64(plain);
    changes.push({ col, id, value: next });
    if (!sealed) report.sealed++;
    else if (keks.current) report.resealed++;
    else report.opened++;
  }
  return { changes, report };
}

/** The fingerprints of the KEKs that sealed the secrets stored in `db` (none when none are sealed). */
export function sealingKekIds(db: Db): string[] {
  const ids = new Set<string>();
  for (const col of SECRET_COLUMNS) {
    // A database of a schema before the column (a backup from before migration 0013) has no secrets there.
    if (!stmt(db, "SELECT 1 FROM pragma_table_info(?) WHERE name = ?").get(col.table, col.column)) continue;
    // Table and column names come from the constant list above, never from input.
    const rows = stmt(db, `SELECT ${col.column} AS value FROM ${col.table} WHERE ${col.column} IS NOT NULL`)
      .all() as unknown as { value: string }[];
    for (const { value } of rows) {
      const id = sealedWith(value);
      if (id) ids.add(id);
    }
  }
  return [...ids];
}
