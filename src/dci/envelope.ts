/** Building the signed envelopes this server sends: sync responses, callbacks, notifications. */
import type { Deps } from "../deps.ts";
import { signEnvelope } from "../auth/envelope_signature.ts";
import type { CallbackHeader } from "./schemas.ts";
import type { CALLBACK_ACTIONS } from "./schemas.ts";

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
  statusReasonCode?: string;
  statusReasonMessage?: string;
  /** Reuse a message id (a retried callback keeps its id); a new UUID otherwise. */
  messageId?: string;
  /** `header.meta` (answers to a test sender mark test mode there). */
  meta?: Readonly<Record<string, unknown>>;
}

/** Builds the callback header and signs {header, message} with the active server key, now. */
export function signedEnvelope(
  deps: Deps,
  h: OutgoingHeader,
  message: Record<string, unknown>,
): SignedEnvelope {
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
  const signature = signEnvelope({ header, message }, deps.keys.active(), { nowMs: deps.clock.now() });
  return { signature, header, message };
}
