/**
 * Where senders are kept: the interface the sender services use (rows as stored; store.ts turns them into
 * `Sender`s with the configured defaults), and its embedded SQLite implementation. The PostgreSQL one is
 * pg_sender_store.ts; statements both dialects share word for word are exported from here.
 */
import type { Db } from "../db/sqlite.ts";
import { transaction } from "../db/sqlite.ts";
import { stmt } from "../db/statements.ts";
import { SenderError } from "./errors.ts";
import { KEY_SQL } from "./key_store.ts";
import { type SenderStanding, standingOf } from "./pause.ts";
import { cancelForDeletedSender } from "../subscriptions/store.ts";
import { cancelOpenTransactions, openTransactionIds } from "../transactions/store.ts";

/** A `senders` row as stored (flags 0/1, unset limits null). */
export type SenderRow = Record<string, string | number | null>;

/** Column values to write, by column name (names only from SENDER_COLUMNS). */
export type SenderColumns = Record<string, string | number | null>;

/** A sender's outstanding work: live subscriptions, notifications waiting, open async transactions. */
export interface SenderWork {
  subscriptions: number;
  notifications: number;
  transactions: number;
}

/** A page of the sender list: filters and cursor (see listing.ts). */
export interface SenderPageFilter {
  /** A LIKE pattern (escaped with `\`) matched case-insensitively against id and name, or null. */
  pattern: string | null;
  /** 1 (enabled), 0 (disabled) or null (both). */
  active: 0 | 1 | null;
  /** Ids after this one ("" from the start). */
  after: string;
  limit: number;
}

/** How deliveries authenticate to the sender's receivers, as stored (the secret sealed). */
export interface OutboundAuthRow {
  outbound_auth: string;
  outbound_token_url: string | null;
  outbound_client_id: string | null;
  outbound_scope: string | null;
  outbound_secret: string | null;
}

/** The registered senders. */
export interface SenderStore {
  /** One sender's row, or undefined. */
  get(senderId: string): Promise<SenderRow | undefined>;
  /** Every sender's row, by id (binary order). */
  list(): Promise<SenderRow[]>;
  /** Up to `limit` rows after `after` matching the filter, by id (binary order). */
  page(filter: SenderPageFilter): Promise<SenderRow[]>;
  /**
   * Adds a sender; refuses (conflict) an id that exists or differs from an existing one by case alone. The
   * check and the insert are one transaction, exact with several instances.
   */
  insert(senderId: string, columns: SenderColumns): Promise<SenderRow>;
  /**
   * Writes `columns` of a sender; its row after, or undefined when there is no such sender. With `ifUpdatedAt`,
   * only while the row's updated_at is still that (a form saved from a page read before another change): else a
   * `conflict` SenderError.
   */
  update(senderId: string, columns: SenderColumns, ifUpdatedAt?: string): Promise<SenderRow | undefined>;
  /**
   * Deletes a sender with its keys, clients and day counter, and in the same transaction cancels its live
   * subscriptions (failing their waiting notifications) and ends its open transactions, each with `reason`.
   * What it cancelled, or undefined when there is no such sender.
   */
  delete(senderId: string, reason: string, now: string): Promise<SenderWork | undefined>;
  /** What the sender has outstanding now. */
  work(senderId: string): Promise<SenderWork>;
  /** Whether the sender is enabled, disabled or gone. */
  standing(senderId: string): Promise<SenderStanding>;
  /** Ids of the sender's open transactions, oldest first, at most `limit` (to wake the worker for them). */
  openTransactionIds(senderId: string, limit: number): Promise<number[]>;
}

/** The sender's own fields an operator sets, each stored in the column of the same name. */
export const SENDER_FIELDS = [
  "name",
  "callback_base_url",
  "jwks_url",
  "limit_minute",
  "limit_day",
  "auto_approve_subscriptions",
] as const;

/** Columns a store writes from SenderColumns; any other name is refused, so no text reaches SQL unchecked. */
export const SENDER_COLUMNS: ReadonlySet<string> = new Set([
  ...SENDER_FIELDS,
  "active",
  "created_at",
  "updated_at",
  "signature_policy",
  "signature_max_window_s",
  "test_mode",
  "lenient",
  "callback_url_mode",
  "outbound_auth",
  "outbound_token_url",
  "outbound_client_id",
  "outbound_scope",
  "outbound_secret",
]);

/** The column names of `columns`, each checked against SENDER_COLUMNS. */
export function columnNames(columns: SenderColumns): string[] {
  const names = Object.keys(columns);
  const bad = names.find((k) => !SENDER_COLUMNS.has(k));
  if (bad !== undefined) throw new Error(`senders has no writable column ${JSON.stringify(bad)}`);
  return names;
}

/** INSERT of a sender with `names` (checked) besides sender_id. */
export function insertSenderSql(names: string[]): string {
  return `INSERT INTO senders (sender_id${names.map((k) => `, ${k}`).join("")})
    VALUES (?${names.map(() => ", ?").join("")})`;
}

/** UPDATE of `names` (checked) of one sender; the sender id is the last parameter. */
export function updateSenderSql(names: string[], guarded = false): string {
  return `UPDATE senders SET ${names.map((k) => `${k} = ?`).join(", ")} WHERE sender_id = ?` +
    (guarded ? " AND updated_at = ?" : "");
}

/** The refusal of a guarded update whose sender changed since `since`. */
export function changedSince(senderId: string, since: string): SenderError {
  return new SenderError(
    "conflict",
    `sender "${senderId}" was changed after ${since}, when these settings were read: read them again and save`,
  );
}

/** One sender's row. */
export const SELECT_SENDER = "SELECT * FROM senders WHERE sender_id = ?";
/** Whether the sender exists and is enabled. */
export const SELECT_ACTIVE = "SELECT active FROM senders WHERE sender_id = ?";
/** The three counts of SenderWork, each with the sender id as its one parameter. */
export const WORK_COUNTS: Readonly<Record<keyof SenderWork, string>> = {
  subscriptions:
    "SELECT COUNT(*) AS n FROM subscriptions WHERE sender_id = ? AND state IN ('pending','active','error')",
  notifications: `SELECT COUNT(*) AS n FROM notifications WHERE status = 'pending'
    AND subscription_id IN (SELECT id FROM subscriptions WHERE sender_id = ?)`,
  // Read through the open states' index (the few rows still open), not the sender's (every transaction it has in
  // retention: millions, read at a disable, the emergency action): `(sender_id || '')` keeps the planners off it.
  transactions: `SELECT COUNT(*) AS n FROM transactions
    WHERE state IN ('received','pending','processing','succeeded','rejected') AND (sender_id || '') = ?`,
};
/** Deletes a sender's row (its keys and clients follow by foreign key) and its day counter. */
export const DELETE_SENDER = "DELETE FROM senders WHERE sender_id = ?";
export const DELETE_RATE_DAY = "DELETE FROM rate_days WHERE sender_id = ?";

/** The senders in the embedded SQLite database `db`. */
export function sqliteSenderStore(db: Db): SenderStore {
  const get = (id: string) => stmt(db, SELECT_SENDER).get(id) as SenderRow | undefined;
  return {
    get: (id) => Promise.try(() => get(id)),
    list: () => Promise.try(() => stmt(db, "SELECT * FROM senders ORDER BY sender_id").all() as SenderRow[]),
    page: (f) =>
      Promise.try(() =>
        // One statement for every filter combination: a NULL parameter switches its condition off.
        stmt(
          db,
          `SELECT * FROM senders
           WHERE sender_id > ?
             AND (? IS NULL OR sender_id LIKE ? ESCAPE '\\' OR name LIKE ? ESCAPE '\\')
             AND (? IS NULL OR active = ?)
           ORDER BY sender_id LIMIT ?+0`,
        ).all(f.after, f.pattern, f.pattern, f.pattern, f.active, f.active, f.limit) as SenderRow[]
      ),
    insert: (id, columns) =>
      Promise.try(() =>
        transaction(db, () => {
          // ASCII-only ids, so NOCASE (which folds ASCII letters) is exactly "differs by case alone".
          const clash = stmt(db, "SELECT sender_id FROM senders WHERE sender_id = ? COLLATE NOCASE LIMIT 1")
            .get(id) as { sender_id: string } | undefined;
          if (clash) throw duplicate(id, clash.sender_id);
          const names = columnNames(columns);
          stmt(db, insertSenderSql(names)).run(id, ...names.map((k) => columns[k]));
          return get(id)!;
        })
      ),
    update: (id, columns, ifUpdatedAt) =>
      Promise.try(() =>
        transaction(db, () => {
          const before = "jwks_url" in columns
            ? stmt(db, KEY_SQL.jwksUrl).get(id) as { jwks_url: string | null } | undefined
            : undefined;
          const names = columnNames(columns);
          const guard = ifUpdatedAt === undefined ? [] : [ifUpdatedAt];
          const changed = stmt(db, updateSenderSql(names, guard.length > 0))
            .run(...names.map((k) => columns[k]), id, ...guard).changes;
          if (changed === 0) {
            if (ifUpdatedAt !== undefined && get(id)) throw changedSince(id, ifUpdatedAt);
            return undefined;
          }
          // A URL changed or cleared (its host compromised or gone): no configured URL stands behind the keys
          // fetched from the old one any more.
          if (before && before.jwks_url !== columns.jwks_url) {
            stmt(db, KEY_SQL.dropJwks).run(id);
            return stmt(db, KEY_SQL.urlChanged).get(id) as SenderRow;
          }
          return get(id);
        })
      ),
    delete: (id, reason, now) =>
      Promise.try(() =>
        transaction(db, () => {
          if (stmt(db, DELETE_SENDER).run(id).changes === 0) return undefined;
          stmt(db, DELETE_RATE_DAY).run(id);
          const subs = cancelForDeletedSender(db, { senderId: id }, reason, now);
          return { ...subs, transactions: cancelOpenTransactions(db, { senderId: id }, reason, now) };
        })
      ),
    work: (id) =>
      Promise.try(() => {
        const n = (sql: string) => Number((stmt(db, sql).get(id) as { n: number }).n);
        return {
          subscriptions: n(WORK_COUNTS.subscriptions),
          notifications: n(WORK_COUNTS.notifications),
          transactions: n(WORK_COUNTS.transactions),
        };
      }),
    standing: (id) =>
      Promise.try(() => {
        const row = stmt(db, SELECT_ACTIVE).get(id) as { active: number } | undefined;
        return standingOf(row?.active);
      }),
    openTransactionIds: (id, limit) => Promise.try(() => openTransactionIds(db, id, limit)),
  };
}

/** The conflict for `senderId` beside the existing `existing` (the same id, or the same but for case). */
export function duplicate(senderId: string, existing: string): SenderError {
  return new SenderError(
    "conflict",
    existing === senderId
      ? `sender "${senderId}" already exists`
      : `sender "${senderId}" differs only by case from the existing sender "${existing}"`,
  );
}
