/**
 * The sender registry: who may call this server, with their limits and callback settings. Rows are kept by
 * `deps.storage.senders` (sender_store.ts); this file checks what an operator asks for and shows a sender with
 * the configured defaults filled in.
 */
import type { Deps } from "../deps.ts";
import { isoNow } from "../clock.ts";
import { isSenderId, MAX_URL, SENDER_ID_RULE } from "../dci/limits.ts";
import { callbackBase } from "../dci/callback_url.ts";
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
import { noSuchSender, SenderError } from "./errors.ts";
import { type OutboundAuthRow, SENDER_FIELDS, type SenderColumns, type SenderRow } from "./sender_store.ts";

export { SenderError };

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
  /**
   * The settings not set on the sender, which follow the server's default (their value above is today's default):
   * a form shows them blank, so that saving it does not pin today's default, nor drop a value set on purpose.
   */
  defaults: DefaultedSetting[];
}

/** The per-sender settings that may be left to the server's default. */
export type DefaultedSetting =
  | "limit_minute"
  | "limit_day"
  | "signature_policy"
  | "signature_max_window_seconds";

/** Fields an operator sets when adding or updating a sender. */
export interface SenderInput extends SenderSettingsInput {
  name?: string;
  callback_base_url?: string | null;
  jwks_url?: string | null;
  limit_minute?: number | null;
  limit_day?: number | null;
  auto_approve_subscriptions?: boolean;
}

/** A stored row as the rest of the server sees it: flags as booleans, unset limits as the configured ones. */
export function toSender(deps: Pick<Deps, "config">, r: SenderRow): Sender {
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
    defaults: ([
      ["limit_minute", r.limit_minute],
      ["limit_day", r.limit_day],
      ["signature_policy", r.signature_policy],
      ["signature_max_window_seconds", r.signature_max_window_s],
    ] as const).filter(([, v]) => v === null || v === undefined).map(([name]) => name),
  };
}

/** One sender by id, or undefined. */
export async function getSender(deps: Deps, senderId: string): Promise<Sender | undefined> {
  const row = await deps.storage.senders.get(senderId);
  return row ? toSender(deps, row) : undefined;
}

/** How far before its sender's registration a transaction or subscription may be dated and still be the sender's. */
const SINCE_SLACK_MS = 60_000;

/**
 * The earliest `created_at` of the transactions and subscriptions that are this sender's: those of a sender deleted
 * and registered again under the same id are not. A minute before its registration (on PostgreSQL the sender's row
 * and its first transaction may be written by instances whose clocks differ a little); "9999" (nothing) for a
 * sender deleted meanwhile.
 */
export async function senderSince(deps: Deps, senderId: string): Promise<string> {
  const created = (await getSender(deps, senderId))?.created_at;
  return created ? new Date(Date.parse(created) - SINCE_SLACK_MS).toISOString() : "9999";
}

/**
 * A sender as a delivery (callback, bulk page, notification) needs it: the sender, and its outbound
 * authentication columns (secret sealed, for `OutboundTokens.authorization`) from the same row.
 */
export interface DeliverySender {
  sender: Sender;
  outbound: OutboundAuthRow;
}

/** `row` as a delivery needs it (one read serves the envelope, the URL and the outbound authentication). */
export function deliverySender(deps: Pick<Deps, "config">, row: SenderRow): DeliverySender {
  return {
    sender: toSender(deps, row),
    outbound: {
      outbound_auth: row.outbound_auth as string,
      outbound_token_url: row.outbound_token_url as string | null,
      outbound_client_id: row.outbound_client_id as string | null,
      outbound_scope: row.outbound_scope as string | null,
      outbound_secret: row.outbound_secret as string | null,
    },
  };
}

/** One sender as a delivery needs it, read now (undefined when there is no such sender). */
export async function senderForDelivery(deps: Deps, senderId: string): Promise<DeliverySender | undefined> {
  const row = await deps.storage.senders.get(senderId);
  return row ? deliverySender(deps, row) : undefined;
}

/** Every sender, ordered by id. */
export async function listSenders(deps: Deps): Promise<Sender[]> {
  return (await deps.storage.senders.list()).map((r) => toSender(deps, r));
}

function validate(input: SenderInput): void {
  // As every delivery and JWKS fetch reads them (callbackBase): a URL they would refuse is refused here, where the
  // operator sets it, not at each request of the sender. Not repeated: it may hold a password.
  for (const field of ["callback_base_url", "jwks_url"] as const) {
    const v = input[field];
    if (v === undefined || v === null) continue;
    if (!callbackBase(v)) {
      throw new SenderError(
        "invalid",
        `${field} must be an absolute http(s) URL of at most ${MAX_URL} characters without a user name or ` +
          "password (a receiver's credentials go in outbound_auth)",
      );
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
export async function addSender(deps: Deps, senderId: string, input: SenderInput): Promise<Sender> {
  if (!isSenderId(senderId)) {
    throw new SenderError(
      "invalid",
      `sender_id ${JSON.stringify(String(senderId).slice(0, 300))} ${SENDER_ID_RULE}`,
    );
  }
  validate(input);
  const now = isoNow(deps.clock);
  const row = await deps.storage.senders.insert(senderId, {
    // The id by default, cut to the name's 200 characters (an id may have 255).
    name: input.name ?? senderId.slice(0, 200),
    callback_base_url: input.callback_base_url ?? null,
    jwks_url: input.jwks_url ?? null,
    limit_minute: input.limit_minute ?? null,
    limit_day: input.limit_day ?? null,
    auto_approve_subscriptions: input.auto_approve_subscriptions ? 1 : 0,
    created_at: now,
    updated_at: now,
    ...settingsOf(deps, senderId, input),
  });
  return toSender(deps, row);
}

const UPDATABLE = new Set<string>([...SENDER_FIELDS, ...SETTINGS_KEYS]);

/**
 * Changes the given fields of a sender (null clears an optional field); with `ifUpdatedAt`, only if nothing changed
 * the sender since (else a `conflict` SenderError): a form saved from a page read before another change.
 */
export async function updateSender(
  deps: Deps,
  senderId: string,
  input: SenderInput,
  options: { ifUpdatedAt?: string } = {},
): Promise<Sender> {
  const unknown = Object.keys(input).find((k) => !UPDATABLE.has(k));
  if (unknown) throw new SenderError("invalid", `field "${unknown}" cannot be updated`);
  validate(input);
  const settingKeys = new Set<string>(SETTINGS_KEYS);
  const columns: SenderColumns = {};
  for (
    const [k, v] of Object.entries({
      ...Object.fromEntries(Object.entries(input).filter(([k]) => !settingKeys.has(k))),
      ...settingsOf(deps, senderId, input),
    })
  ) {
    if (v !== undefined) columns[k] = typeof v === "boolean" ? (v ? 1 : 0) : v as string | number | null;
  }
  columns.updated_at = isoNow(deps.clock);
  const row = await deps.storage.senders.update(senderId, columns, options.ifUpdatedAt);
  if (!row) throw noSuchSender(senderId);
  return toSender(deps, row);
}

/**
 * Enables or disables a sender; a disabled sender's requests and tokens are refused at once, and delivery to
 * it is held (see offboarding.ts, which operators go through).
 */
export async function setSenderActive(deps: Deps, senderId: string, active: boolean): Promise<Sender> {
  const row = await deps.storage.senders.update(senderId, {
    active: active ? 1 : 0,
    updated_at: isoNow(deps.clock),
  });
  if (!row) throw noSuchSender(senderId);
  return toSender(deps, row);
}
