/** The sender registry in SQLite: who may call this server, with their limits and callback settings. */
import type { Deps } from "../deps.ts";
import { stmt } from "../db/statements.ts";
import { isoNow } from "../clock.ts";
import { transaction } from "../db/sqlite.ts";
import { isSenderId, SENDER_ID_RULE } from "../dci/limits.ts";
import {
  type SenderSettingsInput,
  type SenderSettingsView,
  SETTINGS_KEYS,
  settingsColumns,
  settingsProblem,
  type SettingsRow,
  settingsView,
} from "./settings.ts";
import { sealOutboundSecret } from "./outbound_secret.ts";

/** A registered sender as the rest of the server sees it (settings: effective values, secrets only as "set"). */
export interface Sender extends SenderSettingsView {
  sender_id: string;
  name: string;
  active: boolean;
  callback_base_url: string | null;
  jwks_url: string | null;
  /** Effective limits (the sender's own or the configured defaults). */
  limit_minute: number;
  limit_day: number;
  auto_approve_subscriptions: boolean;
  keys_version: number;
  jwks_fetched_at: string | null;
  jwks_fetch_status: string | null;
  jwks_fetch_error: string | null;
  created_at: string;
  updated_at: string;
}

/** Fields an operator sets when adding or updating a sender. */
export interface SenderInput extends SenderSettingsInput {
  name?: string;
  callback_base_url?: string | null;
  jwks_url?: string | null;
  limit_minute?: number | null;
  limit_day?: number | null;
  auto_approve_subscriptions?: boolean;
}

/** A sender operation refused for a reason the operator can fix (maps to 400/404/409). */
export class SenderError extends Error {
  constructor(readonly kind: "invalid" | "not_found" | "conflict", message: string) {
    super(message);
    this.name = "SenderError";
  }
}

type Row = Record<string, string | number | null>;

function toSender(deps: Deps, r: Row): Sender {
  return {
    sender_id: r.sender_id as string,
    name: r.name as string,
    active: r.active === 1,
    callback_base_url: r.callback_base_url as string | null,
    jwks_url: r.jwks_url as string | null,
    limit_minute: (r.limit_minute as number | null) ?? deps.config.rateLimitMinute,
    limit_day: (r.limit_day as number | null) ?? deps.config.rateLimitDay,
    auto_approve_subscriptions: r.auto_approve_subscriptions === 1,
    keys_version: r.keys_version as number,
    jwks_fetched_at: r.jwks_fetched_at as string | null,
    jwks_fetch_status: r.jwks_fetch_status as string | null,
    jwks_fetch_error: r.jwks_fetch_error as string | null,
    created_at: r.created_at as string,
    updated_at: r.updated_at as string,
    ...settingsView(r as unknown as SettingsRow, deps.config),
  };
}

/** One sender by id, or undefined. */
export function getSender(deps: Deps, senderId: string): Sender | undefined {
  const row = stmt(deps.db, "SELECT * FROM senders WHERE sender_id = ?").get(senderId) as Row | undefined;
  return row ? toSender(deps, row) : undefined;
}

/** Every sender, ordered by id. */
export function listSenders(deps: Deps): Sender[] {
  return (stmt(deps.db, "SELECT * FROM senders ORDER BY sender_id").all() as Row[]).map((r) =>
    toSender(deps, r)
  );
}

function validate(input: SenderInput): void {
  for (const field of ["callback_base_url", "jwks_url"] as const) {
    const v = input[field];
    if (v === undefined || v === null) continue;
    let url: URL | undefined;
    try {
      url = new URL(v);
    } catch { /* reported below */ }
    if (!url || (url.protocol !== "https:" && url.protocol !== "http:")) {
      throw new SenderError("invalid", `${field} "${v}" is not an http(s) URL`);
    }
  }
  for (const field of ["limit_minute", "limit_day"] as const) {
    const v = input[field];
    if (v !== undefined && v !== null && (!Number.isSafeInteger(v) || v < 1)) {
      throw new SenderError("invalid", `${field} must be a positive integer, not ${v}`);
    }
  }
  if (input.name !== undefined && (input.name.trim() === "" || input.name.length > 200)) {
    throw new SenderError("invalid", "name must be 1 to 200 characters");
  }
  const problem = settingsProblem(input);
  if (problem) throw new SenderError("invalid", problem);
}

/** The settings columns of `input` for `senderId` (its secret sealed). */
function settingsOf(deps: Deps, senderId: string, input: SenderInput) {
  return settingsColumns(input, (secret) => sealOutboundSecret(deps, senderId, secret));
}

/**
 * Registers a sender; refuses an invalid sender_id, and one that equals an existing id or differs from it by case
 * alone (`Partner.org` beside `partner.org` would be two senders an operator reads as one).
 */
export function addSender(deps: Deps, senderId: string, input: SenderInput): Sender {
  if (!isSenderId(senderId)) {
    throw new SenderError(
      "invalid",
      `sender_id ${JSON.stringify(String(senderId).slice(0, 300))} ${SENDER_ID_RULE}`,
    );
  }
  validate(input);
  transaction(deps.db, () => {
    refuseDuplicate(deps, senderId);
    insertSender(deps, senderId, input);
  });
  return getSender(deps, senderId)!;
}

function refuseDuplicate(deps: Deps, senderId: string): void {
  // ASCII-only ids, so NOCASE (which folds ASCII letters) is exactly "differs by case alone".
  const clash = stmt(deps.db, "SELECT sender_id FROM senders WHERE sender_id = ? COLLATE NOCASE LIMIT 1")
    .get(senderId) as { sender_id: string } | undefined;
  if (!clash) return;
  throw new SenderError(
    "conflict",
    clash.sender_id === senderId
      ? `sender "${senderId}" already exists`
      : `sender "${senderId}" differs only by case from the existing sender "${clash.sender_id}"`,
  );
}

function insertSender(deps: Deps, senderId: string, input: SenderInput): void {
  const now = isoNow(deps.clock);
  const settings = Object.entries(settingsOf(deps, senderId, input));
  // Column names come from settingsColumns' fixed list, never from the request as text.
  stmt(
    deps.db,
    `INSERT INTO senders (sender_id, name, callback_base_url, jwks_url, limit_minute, limit_day,
      auto_approve_subscriptions, created_at, updated_at${settings.map(([k]) => `, ${k}`).join("")})
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?${settings.map(() => ", ?").join("")})`,
  ).run(
    senderId,
    input.name ?? senderId,
    input.callback_base_url ?? null,
    input.jwks_url ?? null,
    input.limit_minute ?? null,
    input.limit_day ?? null,
    input.auto_approve_subscriptions ? 1 : 0,
    now,
    now,
    ...settings.map(([, v]) => v),
  );
}

const UPDATABLE = new Set([
  "name",
  "callback_base_url",
  "jwks_url",
  "limit_minute",
  "limit_day",
  "auto_approve_subscriptions",
  ...SETTINGS_KEYS,
]);

/** Changes the given fields of a sender (null clears an optional field). */
export function updateSender(deps: Deps, senderId: string, input: SenderInput): Sender {
  const unknown = Object.keys(input).find((k) => !UPDATABLE.has(k));
  if (unknown) throw new SenderError("invalid", `field "${unknown}" cannot be updated`);
  validate(input);
  const sets: string[] = [];
  const values: (string | number | null)[] = [];
  const settingKeys = new Set<string>(SETTINGS_KEYS);
  const columns = {
    ...Object.fromEntries(Object.entries(input).filter(([k]) => !settingKeys.has(k))),
    ...settingsOf(deps, senderId, input),
  };
  for (const [k, v] of Object.entries(columns)) {
    if (v === undefined) continue;
    sets.push(`${k} = ?`); // k comes from UPDATABLE or settingsColumns, never from the request as text
    values.push(typeof v === "boolean" ? (v ? 1 : 0) : v as string | number | null);
  }
  sets.push("updated_at = ?");
  values.push(isoNow(deps.clock));
  const res = stmt(deps.db, `UPDATE senders SET ${sets.join(", ")} WHERE sender_id = ?`).run(
    ...values,
    senderId,
  );
  if (res.changes === 0) throw new SenderError("not_found", `sender "${senderId}" does not exist`);
  return getSender(deps, senderId)!;
}

/**
 * Enables or disables a sender; a disabled sender's requests and tokens are refused at once, and delivery to
 * it is held (see offboarding.ts, which operators go through).
 */
export function setSenderActive(deps: Deps, senderId: string, active: boolean): Sender {
  const res = stmt(deps.db, "UPDATE senders SET active = ?, updated_at = ? WHERE sender_id = ?")
    .run(active ? 1 : 0, isoNow(deps.clock), senderId);
  if (res.changes === 0) throw new SenderError("not_found", `sender "${senderId}" does not exist`);
  return getSender(deps, senderId)!;
}

/**
 * Removes a sender's own rows (the sender, its keys and clients, its day counter). Operators go through
 * `deleteSender` (offboarding.ts), which also cancels its subscriptions and deliveries in the same transaction.
 */
export function removeSender(deps: Deps, senderId: string): void {
  const res = stmt(deps.db, "DELETE FROM senders WHERE sender_id = ?").run(senderId);
  if (res.changes === 0) throw new SenderError("not_found", `sender "${senderId}" does not exist`);
  stmt(deps.db, "DELETE FROM rate_days WHERE sender_id = ?").run(senderId);
}
