/**
 * The per-sender settings on `sender add|update` (src/senders/settings.ts): flags to SenderSettingsInput. The
 * outbound secret is read from a file or stdin, never from a flag, so it stays out of shell history and `ps`.
 */
import { type CommandInput, UsageError } from "./cli.ts";
import {
  CALLBACK_URL_MODES,
  type CallbackUrlMode,
  type OutboundAuthInput,
  type SenderSettingsInput,
  SIGNATURE_POLICIES,
  type SignaturePolicy,
} from "../senders/settings.ts";

type Opt = { type: "string"; description: string };

/** The settings flags of `sender add` and `sender update`. */
export const SETTINGS_OPTIONS: Record<string, Opt> = {
  "signature-policy": {
    type: "string",
    description: `Envelope signature: ${SIGNATURE_POLICIES.join("|")}|default (DCI_SIGNATURE_POLICY)`,
  },
  "signature-max-window": {
    type: "string",
    description: 'Largest signature expires - created, 1-3600 s ("" = default 300)',
  },
  "test-mode": {
    type: "string",
    description: "Test sender (placeholder signatures, answers marked): true|false",
  },
  lenient: { type: "string", description: 'Comma list of leniencies: total_count ("" = none)' },
  "callback-url-mode": {
    type: "string",
    description: "append (default: /registry/on-search etc. added) | exact (the URL as given)",
  },
  "outbound-auth": {
    type: "string",
    description: "How callbacks authenticate to the sender's receivers: none|bearer|oauth2",
  },
  "outbound-token-url": {
    type: "string",
    description: "oauth2: the sender's token URL (client credentials)",
  },
  "outbound-client-id": { type: "string", description: "oauth2: the client id" },
  "outbound-scope": { type: "string", description: "oauth2: the scope to ask for (optional)" },
  "outbound-secret-file": {
    type: "string",
    description:
      "bearer: the token, oauth2: the client secret, read from this file (- = stdin); never shown again",
  },
};

/** The settings given by flags (only those given). */
export async function settingsInput(values: CommandInput["values"]): Promise<SenderSettingsInput> {
  const str = (k: string) => values[k] === undefined ? undefined : String(values[k]);
  const out: SenderSettingsInput = {};
  const policy = str("signature-policy");
  if (policy !== undefined) {
    if (policy !== "default" && !(SIGNATURE_POLICIES as readonly string[]).includes(policy)) {
      throw new UsageError(`--signature-policy must be ${SIGNATURE_POLICIES.join(", ")} or default`);
    }
    out.signature_policy = policy === "default" ? null : policy as SignaturePolicy;
  }
  const window = str("signature-max-window");
  if (window !== undefined) {
    const n = Number(window);
    if (window !== "" && (!Number.isSafeInteger(n) || n < 1 || n > 3600)) {
      throw new UsageError("--signature-max-window must be 1 to 3600 seconds");
    }
    out.signature_max_window_seconds = window === "" ? null : n;
  }
  const test = str("test-mode");
  if (test !== undefined) {
    if (test !== "true" && test !== "false") throw new UsageError("--test-mode must be true or false");
    out.test_mode = test === "true";
  }
  const lenient = str("lenient");
  if (lenient !== undefined) out.lenient = lenient.split(",").map((x) => x.trim()).filter(Boolean);
  const mode = str("callback-url-mode");
  if (mode !== undefined) {
    if (!(CALLBACK_URL_MODES as readonly string[]).includes(mode)) {
      throw new UsageError(`--callback-url-mode must be ${CALLBACK_URL_MODES.join(" or ")}`);
    }
    out.callback_url_mode = mode as CallbackUrlMode;
  }
  const auth = await outboundAuth(values);
  if (auth) out.outbound_auth = auth;
  return out;
}

async function outboundAuth(values: CommandInput["values"]): Promise<OutboundAuthInput | undefined> {
  const type = values["outbound-auth"];
  const parts = ["outbound-token-url", "outbound-client-id", "outbound-scope", "outbound-secret-file"];
  if (type === undefined) {
    const stray = parts.find((k) => values[k] !== undefined);
    if (stray) throw new UsageError(`--${stray} needs --outbound-auth`);
    return undefined;
  }
  if (type !== "none" && type !== "bearer" && type !== "oauth2") {
    throw new UsageError("--outbound-auth must be none, bearer or oauth2");
  }
  // A flag of another type would be dropped without a word (the operator meant oauth2, or mistyped the type).
  const own = type === "none" ? [] : type === "bearer" ? ["outbound-secret-file"] : parts;
  const foreign = parts.find((k) => values[k] !== undefined && !own.includes(k));
  if (foreign) throw new UsageError(`--${foreign} does not apply to --outbound-auth ${type}`);
  if (type === "none") return { type: "none" };
  const file = values["outbound-secret-file"];
  if (typeof file !== "string") throw new UsageError(`--outbound-auth ${type} needs --outbound-secret-file`);
  const secret =
    (file === "-" ? await new Response(Deno.stdin.readable).text() : await Deno.readTextFile(file))
      .trim();
  if (type === "bearer") return { type, token: secret };
  const url = values["outbound-token-url"];
  const id = values["outbound-client-id"];
  if (typeof url !== "string" || typeof id !== "string") {
    throw new UsageError("--outbound-auth oauth2 needs --outbound-token-url and --outbound-client-id");
  }
  const scope = values["outbound-scope"];
  return {
    type,
    token_url: url,
    client_id: id,
    client_secret: secret,
    scope: typeof scope === "string" ? scope : null,
  };
}
