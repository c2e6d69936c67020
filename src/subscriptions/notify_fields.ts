/** A deployment's extra notification fields (src/extensions.ts), added to each notify_event's data before signing. */
import type { NotificationContext, NotificationFieldBuilder } from "../extensions.ts";

type Json = Record<string, unknown>;

/**
 * `message` with the builder's fields added to the `data` of each notify_event. The stock fields win: a builder
 * cannot replace version, reg_type, reg_event_type, reg_record_type or reg_records. Without a builder, `message`.
 */
export function withNotificationFields(
  build: NotificationFieldBuilder | undefined,
  message: Json,
  about: Omit<NotificationContext, "notificationId" | "record">,
): Json {
  if (!build || !Array.isArray(message.notify_event)) return message;
  for (const event of message.notify_event as Json[]) {
    const data = event.data as Json | undefined;
    if (!data) continue;
    const extra = build({
      ...about,
      notificationId: String(event.reference_id ?? message.transaction_id ?? ""),
      record: (data.reg_records ?? {}) as Json,
    });
    for (const [key, value] of Object.entries(extra)) {
      if (!Object.hasOwn(data, key)) data[key] = value;
    }
  }
  return message;
}
