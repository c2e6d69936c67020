/** Building the signed envelopes this server sends: sync responses, callbacks, notifications. */
import type { Deps } from "../deps.ts";
import { signEnvelope } from "../auth/envelope_signature.ts";
import type { CallbackHeader } from "./schemas.ts";
import type { CALLBACK_ACTIONS } from "./schemas.ts";
import type { HeaderRjctCode } from "./errors.ts";
import { canonicalJson } from "./canonical.ts";

/** A signed outgoing envelope. */
export interface SignedEnvelope {
  signature: string;
  header: CallbackHeader;
  message: Record<string, unknown>;
}

/** What varies between outgoing envelopes. */
export interface OutgoingHeader {
  action: typeof CALLBACK_ACTIONS[number];
  status: CallbackHeader["status"];
  receiverId?: string;
  totalCount: number;
  completedCount: number;
  /** Only a header-level code (MsgHeaderStatusReasonCode): item-level codes belong in the message's items. */
  statusReasonCode?: HeaderRjctCode;
  statusReasonMessage?: string;
  /** Reuse a message id (a retried callback keeps its id); a new UUID otherwise. */
  messageId?: string;
  /** `header.meta` (answers to a test sender mark test mode there). */
  meta?: Readonly<Record<string, unknown>>;
}

/**
 * A message as the canonical JSON text signedEnvelopeText takes (keys sorted, ASCII-escaped): what a stored
 * answer is kept as, so each delivery attempt signs and sends it without parsing or serialising it again.
 */
export function canonicalMessage(message: Record<string, unknown>): string {
  return canonicalJson(message, { asciiEscape: true });
}

/**
 * The body text of a signed envelope whose message is given as canonical JSON text (`canonicalMessage`): the
 * message is neither parsed nor serialised again.
 */
export function signedEnvelopeText(deps: Deps, h: OutgoingHeader, canonicalMessage: string): string {
  const header = callbackHeader(deps, h);
  const signature = signEnvelope({ header, message: null }, deps.keys.active(), {
    nowMs: deps.clock.now(),
    canonicalMessage,
  });
  return `{"signature":${JSON.stringify(signature)},"header":${
    JSON.stringify(header)
  },"message":${canonicalMessage}}`;
}

/** Builds the callback header and signs {header, message} with the active server key, now. */
export function signedEnvelope(
  deps: Deps,
  h: OutgoingHeader,
  message: Record<string, unknown>,
): SignedEnvelope {
  const header = callbackHeader(deps, h);
  const signature = signEnvelope({ header, message }, deps.keys.active(), { nowMs: deps.clock.now() });
  return { signature, header, message };
}

function callbackHeader(deps: Deps, h: OutgoingHeader): CallbackHeader {
  const header: CallbackHeader = {
    version: "1.0.0",
    message_id: h.messageId ?? crypto.randomUUID(),
    message_ts: new Date(deps.clock.now()).toISOString(),
    action: h.action,
    status: h.status,
    ...(h.statusReasonCode ? { status_reason_code: h.statusReasonCode } : {}),
    ...(h.statusReasonMessage ? { status_reason_message: h.statusReasonMessage.slice(0, 999) } : {}),
    total_count: h.totalCount,
    completed_count: h.completedCount,
    sender_id: deps.config.senderId,
    ...(h.receiverId ? { receiver_id: h.receiverId } : {}),
    is_msg_encrypted: false,
    ...(h.meta ? { meta: h.meta } : {}),
  };
  return header;
}
