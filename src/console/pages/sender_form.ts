/**
 * A sender's settings form read into the SenderInput the admin API passes to addSender/updateSender: blank
 * means "the server's default" (null), checkboxes are booleans, and the outbound secret is write-only (left
 * blank, the current outbound authentication is kept).
 */
import type { Sender, SenderInput } from "../../senders/store.ts";
import { LENIENCIES, type OutboundAuthInput } from "../../senders/settings.ts";
import { FormError, formText } from "../write.ts";

type Body = Record<string, string | File | (string | File)[]>;

function optionalInt(body: Body, name: string): number | null {
  const s = formText(body, name, 20);
  if (s === "") return null;
  if (!/^\d{1,15}$/.test(s)) throw new FormError(`${name} must be a whole number, or blank for the default`);
  return Number(s);
}

function optionalText(body: Body, name: string, max = 2048): string | null {
  return formText(body, name, max) || null;
}

/** The outbound authentication to set, or undefined to keep the current one. */
function outboundAuth(body: Body, current?: Sender): OutboundAuthInput | undefined {
  const type = formText(body, "outbound_auth_type", 10) || "none";
  if (type === "none") return current?.outbound_auth.type === "none" ? undefined : { type: "none" };
  if (type === "bearer") {
    const token = formText(body, "outbound_token", 4096);
    if (!token && current?.outbound_auth.type === "bearer") return undefined;
    return { type: "bearer", token };
  }
  if (type === "oauth2") {
    const secret = formText(body, "outbound_client_secret", 1024);
    if (!secret && current?.outbound_auth.type === "oauth2") return undefined;
    return {
      type: "oauth2",
      token_url: formText(body, "outbound_token_url"),
      client_id: formText(body, "outbound_client_id", 256),
      client_secret: secret,
      scope: optionalText(body, "outbound_scope", 1024),
    };
  }
  throw new FormError("outbound authentication must be none, bearer or oauth2");
}

/** Every field of the sender form (create and edit). */
export function senderInput(body: Body, current?: Sender): SenderInput {
  const policy = formText(body, "signature_policy", 10);
  const mode = formText(body, "callback_url_mode", 10) || "append";
  const input: SenderInput = {
    name: formText(body, "name", 200) || undefined,
    callback_base_url: optionalText(body, "callback_base_url"),
    jwks_url: optionalText(body, "jwks_url"),
    limit_minute: optionalInt(body, "limit_minute"),
    limit_day: optionalInt(body, "limit_day"),
    auto_approve_subscriptions: body.auto_approve_subscriptions === "on",
    signature_policy: (policy || null) as SenderInput["signature_policy"],
    signature_max_window_seconds: optionalInt(body, "signature_max_window_seconds"),
    test_mode: body.test_mode === "on",
    lenient: LENIENCIES.filter((l) => body[`lenient_${l}`] === "on"),
    callback_url_mode: mode as SenderInput["callback_url_mode"],
  };
  const auth = outboundAuth(body, current);
  if (auth) input.outbound_auth = auth;
  return input;
}
