/** Building DCI request envelopes for tests. */

/** A request envelope `{header, message}` (sign it with a TestSender to add `signature`). */
export interface RequestEnvelope {
  signature?: string;
  header: Record<string, unknown> & { sender_id: string; message_id: string; message_ts: string };
  message: Record<string, unknown>;
}

/**
 * A request envelope from `senderId` with a fresh message_id and message_ts (now, or `nowMs`).
 * `header` overrides or adds header fields (e.g. `{ action: "subscribe", sender_uri }`).
 */
export function requestEnvelope(
  senderId: string,
  message: Record<string, unknown> = {},
  options: { action?: string; header?: Record<string, unknown>; nowMs?: number; totalCount?: number } = {},
): RequestEnvelope {
  return {
    header: {
      version: "1.0.0",
      message_id: crypto.randomUUID(),
      message_ts: new Date(options.nowMs ?? Date.now()).toISOString(),
      action: options.action ?? "search",
      sender_id: senderId,
      total_count: options.totalCount ?? 0,
      is_msg_encrypted: false,
      ...(options.header ?? {}),
    } as RequestEnvelope["header"],
    message,
  };
}
