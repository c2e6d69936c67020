/**
 * Per-sender settings that used to be global switches (issue 12 §4): signature policy and window, test mode,
 * named leniencies, the callback URL mode and how deliveries authenticate to the sender's receivers. This file
 * holds their names, checks and views; store.ts reads and writes them with the rest of the sender row.
 */
import type { Config } from "../config.ts";
import { callbackBase } from "../dci/callback_url.ts";

/** Envelope signature policies (the global default is DCI_SIGNATURE_POLICY). */
export const SIGNATURE_POLICIES = ["required", "optional", "off"] as const;
/** An envelope signature policy. */
export type SignaturePolicy = typeof SIGNATURE_POLICIES[number];

/** The signature window (expires − created) a sender gets by default, and the most an operator may allow. */
export const DEFAULT_SIGNATURE_WINDOW_S = 300;
export const MAX_SIGNATURE_WINDOW_SETTING_S = 3600;

/**
 * How callback and notification URLs are made from the sender's callback base (or header.sender_uri):
 * `append` (default) adds `/registry/on-search` etc. unless the path already names a callback endpoint;
 * `exact` posts every callback and notification to the URL as given (OpenSPP's single receiver URL).
 */
export const CALLBACK_URL_MODES = ["append", "exact"] as const;
/** A callback URL mode. */
export type CallbackUrlMode = typeof CALLBACK_URL_MODES[number];

/**
 * The leniencies a sender may be given, each because a real client needs it; anything not listed is strict.
 * `total_count`: header.total_count may differ from the number of items (OpenSPP's DCI API guide sends 10 with
 * one search item); the answer's header states the real count.
 */
export const LENIENCIES = ["total_count"] as const;
/** A named leniency. */
export type Leniency = typeof LENIENCIES[number];

/** Outbound authentication toward the sender's receivers, as an operator sets it (secrets write-only). */
export type OutboundAuthInput =
  | { type: "none" }
  | { type: "bearer"; token: string }
  | { type: "oauth2"; token_url: string; client_id: string; client_secret: string; scope?: string | null };

/** Outbound authentication as shown: whether a secret is set, never the secret. */
export type OutboundAuthView =
  | { type: "none" }
  | { type: "bearer"; token_set: boolean }
  | {
    type: "oauth2";
    token_url: string;
    client_id: string;
    scope: string | null;
    client_secret_set: boolean;
  };

/** The per-sender settings an operator may set (null resets a nullable one to the configured default). */
export interface SenderSettingsInput {
  signature_policy?: SignaturePolicy | null;
  signature_max_window_seconds?: number | null;
  test_mode?: boolean;
  lenient?: string[];
  callback_url_mode?: CallbackUrlMode;
  outbound_auth?: OutboundAuthInput;
}

/** The per-sender settings as the admin API and CLI show them (effective values). */
export interface SenderSettingsView {
  signature_policy: SignaturePolicy;
  signature_max_window_seconds: number;
  test_mode: boolean;
  lenient: Leniency[];
  callback_url_mode: CallbackUrlMode;
  outbound_auth: OutboundAuthView;
}

/** What the auth chain needs of a sender's settings on every request. */
export interface RequestSettings {
  signaturePolicy: SignaturePolicy;
  /** The sender's signature validity maximum (expires − created) in seconds. */
  maxSignatureWindowS: number;
  testMode: boolean;
  lenient: readonly string[];
}

/** The settings columns of a senders row. */
export interface SettingsRow {
  signature_policy: string | null;
  signature_max_window_s: number | null;
  test_mode: number;
  lenient: string;
  callback_url_mode: string;
  outbound_auth: string;
  outbound_token_url: string | null;
  outbound_client_id: string | null;
  outbound_scope: string | null;
  outbound_secret: string | null;
}

/** Input keys that are settings (the rest of a sender's input is handled by store.ts). */
export const SETTINGS_KEYS: readonly (keyof SenderSettingsInput)[] = [
  "signature_policy",
  "signature_max_window_seconds",
  "test_mode",
  "lenient",
  "callback_url_mode",
  "outbound_auth",
];

const PRINTABLE = (max: number) => new RegExp(`^[\\x20-\\x7e]{1,${max}}$`);
const TOKEN = /^[\x21-\x7e]{1,4096}$/;
const CLIENT_ID = PRINTABLE(256);
const CLIENT_SECRET = PRINTABLE(1024);
const SCOPE = PRINTABLE(1024);

/** Why the settings are invalid (naming the field, never a secret's value), or undefined. */
export function settingsProblem(input: SenderSettingsInput): string | undefined {
  const p = input.signature_policy;
  if (p !== undefined && p !== null && !SIGNATURE_POLICIES.includes(p)) {
    return `signature_policy must be one of ${SIGNATURE_POLICIES.join(", ")}`;
  }
  const w = input.signature_max_window_seconds;
  if (
    w !== undefined && w !== null && (!Number.isSafeInteger(w) || w < 1 || w > MAX_SIGNATURE_WINDOW_SETTING_S)
  ) {
    return `signature_max_window_seconds must be an integer from 1 to ${MAX_SIGNATURE_WINDOW_SETTING_S}`;
  }
  if (input.test_mode !== undefined && typeof input.test_mode !== "boolean") {
    return "test_mode must be true or false";
  }
  if (input.lenient !== undefined) {
    const bad = !Array.isArray(input.lenient)
      ? "(not a list)"
      : input.lenient.find((x) => !(LENIENCIES as readonly unknown[]).includes(x));
    if (bad !== undefined) {
      return `lenient must be a list of ${LENIENCIES.join(", ")}; ${
        JSON.stringify(String(bad).slice(0, 40))
      } is not one`;
    }
  }
  const m = input.callback_url_mode;
  if (m !== undefined && !CALLBACK_URL_MODES.includes(m)) {
    return `callback_url_mode must be one of ${CALLBACK_URL_MODES.join(", ")}`;
  }
  return input.outbound_auth === undefined ? undefined : outboundAuthProblem(input.outbound_auth);
}

function outboundAuthProblem(a: OutboundAuthInput): string | undefined {
  if (a === null || typeof a !== "object") return "outbound_auth must be an object with a type";
  switch (a.type) {
    case "none":
      return undefined;
    case "bearer":
      return typeof a.token === "string" && TOKEN.test(a.token)
        ? undefined
        : "outbound_auth.token must be 1 to 4096 printable ASCII characters without spaces";
    case "oauth2":
      if (typeof a.token_url !== "string" || !callbackBase(a.token_url)) {
        return "outbound_auth.token_url must be an absolute http(s) URL without credentials";
      }
      if (typeof a.client_id !== "string" || !CLIENT_ID.test(a.client_id)) {
        return "outbound_auth.client_id must be 1 to 256 printable ASCII characters";
      }
      if (typeof a.client_secret !== "string" || !CLIENT_SECRET.test(a.client_secret)) {
        return "outbound_auth.client_secret must be 1 to 1024 printable ASCII characters";
      }
      if (
        a.scope !== undefined && a.scope !== null && (typeof a.scope !== "string" || !SCOPE.test(a.scope))
      ) {
        return "outbound_auth.scope must be 1 to 1024 printable ASCII characters";
      }
      return undefined;
    default:
      return "outbound_auth.type must be none, bearer or oauth2";
  }
}

/**
 * The column values for valid settings input (only the given settings). `seal` stores a secret for this
 * sender (sealed with the key-encryption key when one is set).
 */
export function settingsColumns(
  input: SenderSettingsInput,
  seal: (secret: string) => string,
): Record<string, string | number | null> {
  const out: Record<string, string | number | null> = {};
  if (input.signature_policy !== undefined) out.signature_policy = input.signature_policy;
  if (input.signature_max_window_seconds !== undefined) {
    out.signature_max_window_s = input.signature_max_window_seconds;
  }
  if (input.test_mode !== undefined) out.test_mode = input.test_mode ? 1 : 0;
  if (input.lenient !== undefined) out.lenient = [...new Set(input.lenient)].sort().join(",");
  if (input.callback_url_mode !== undefined) out.callback_url_mode = input.callback_url_mode;
  const a = input.outbound_auth;
  if (a !== undefined) {
    out.outbound_auth = a.type;
    out.outbound_token_url = a.type === "oauth2" ? a.token_url : null;
    out.outbound_client_id = a.type === "oauth2" ? a.client_id : null;
    out.outbound_scope = a.type === "oauth2" ? a.scope ?? null : null;
    out.outbound_secret = a.type === "bearer"
      ? seal(a.token)
      : a.type === "oauth2"
      ? seal(a.client_secret)
      : null;
  }
  return out;
}

/** The leniencies stored in a row. */
function lenientOf(stored: string | null | undefined): Leniency[] {
  return (stored ?? "").split(",").filter((x): x is Leniency =>
    (LENIENCIES as readonly string[]).includes(x)
  );
}

/** The settings of a row as shown (effective values, secrets only as "set"). */
export function settingsView(r: SettingsRow, config: Config): SenderSettingsView {
  const type = r.outbound_auth as OutboundAuthView["type"];
  const outbound: OutboundAuthView = type === "bearer"
    ? { type, token_set: r.outbound_secret !== null }
    : type === "oauth2"
    ? {
      type,
      token_url: r.outbound_token_url ?? "",
      client_id: r.outbound_client_id ?? "",
      scope: r.outbound_scope,
      client_secret_set: r.outbound_secret !== null,
    }
    : { type: "none" };
  return {
    signature_policy: (r.signature_policy as SignaturePolicy | null) ?? config.signaturePolicy,
    signature_max_window_seconds: r.signature_max_window_s ?? DEFAULT_SIGNATURE_WINDOW_S,
    test_mode: r.test_mode === 1,
    lenient: lenientOf(r.lenient),
    callback_url_mode: r.callback_url_mode === "exact" ? "exact" : "append",
    outbound_auth: outbound,
  };
}

/** The settings the auth chain applies to one request of this sender. */
export function requestSettings(
  r: Pick<SettingsRow, "signature_policy" | "signature_max_window_s" | "test_mode" | "lenient">,
  config: Config,
): RequestSettings {
  return {
    signaturePolicy: (r.signature_policy as SignaturePolicy | null) ?? config.signaturePolicy,
    maxSignatureWindowS: r.signature_max_window_s ?? DEFAULT_SIGNATURE_WINDOW_S,
    testMode: r.test_mode === 1,
    lenient: r.lenient ? r.lenient.split(",") : [],
  };
}

/** What answers to a test sender carry in `header.meta`. */
export const TEST_MODE_META: Readonly<Record<string, unknown>> = Object.freeze({ test_mode: true });

/** The `header.meta` of a sync answer to the authenticated sender (test mode marked), or undefined. */
export function answerMeta(
  auth: { testMode?: boolean } | undefined,
): Readonly<Record<string, unknown>> | undefined {
  return auth?.testMode ? TEST_MODE_META : undefined;
}
