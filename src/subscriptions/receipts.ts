/**
 * Receipts: `POST …/registry/sync/receipt` (signed `on-receipt` response) and the async `…/registry/receipt`
 * (a `receipt` transaction: ACK 202 from the transaction routes, then the durable `on-receipt` callback run by
 * the transaction worker) mark one of the caller's own notifications received.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import type { Registry } from "../dci/registry_router.ts";
import { authenticate } from "../auth/middleware.ts";
import { CallbackHeader, envelopeOf, HeaderId, Id99, type RequestHeader } from "../dci/schemas.ts";
import { signedEnvelope } from "../dci/envelope.ts";
import { isoNow } from "../clock.ts";
import type { ProcessInput, ProcessResult } from "../transactions/processors.ts";
import { markReceived } from "./notifications.ts";
import { answerMeta } from "../senders/settings.ts";

/** Receipt message: the notification id (X-DCI-Notification-ID) or the notify envelope's message_id. */
export const ReceiptMessage = z.looseObject({
  transaction_id: HeaderId,
  notification_id: Id99.optional(),
  receipt: z.looseObject({ notification_id: Id99.optional(), message_id: Id99.optional() }).optional(),
}).refine((m) => notificationIdOf(m) !== undefined, {
  message: "message.notification_id (or receipt.notification_id / receipt.message_id) is required",
  path: ["notification_id"],
}).openapi("ReceiptRequest");

/** The receipt request envelope (sync and async). */
export const ReceiptEnvelope = envelopeOf(ReceiptMessage, "ReceiptEnvelope");
const SignedReceipt = z.object({
  signature: z.string(),
  header: CallbackHeader,
  message: z.record(z.string(), z.unknown()),
})
  .openapi("ReceiptResponseEnvelope");

type Message = {
  transaction_id: string;
  notification_id?: string;
  receipt?: { notification_id?: string; message_id?: string };
};
type Body = { header: RequestHeader; message: Message };

function notificationIdOf(m: Message): string | undefined {
  return m.notification_id ?? m.receipt?.notification_id ?? m.receipt?.message_id;
}

/** The on-receipt result of one receipt message: the caller's own notification marked received, or rjct. */
export function receipt(deps: Deps, senderId: string, m: Message, correlationId: string) {
  const id = notificationIdOf(m) ?? "";
  const now = isoNow(deps.clock);
  const r = id ? markReceived(deps.db, senderId, id, now) : { ok: false as const };
  const item = r.ok
    ? {
      notification_id: r.row.notification_id,
      subscription_code: r.row.subscription_code,
      status: "succ",
      timestamp: now,
    }
    : {
      notification_id: id,
      status: "rjct",
      status_reason_code: "rjct.reference_id.invalid",
      status_reason_message: `No notification ${JSON.stringify(id)} of sender "${senderId}"`,
      timestamp: now,
    };
  return {
    status: (r.ok ? "succ" : "rjct") as "succ" | "rjct",
    reasonCode: r.ok ? undefined : "rjct.reference_id.invalid",
    reasonMessage: r.ok ? undefined : item.status_reason_message,
    message: { transaction_id: m.transaction_id, correlation_id: correlationId, receipt_response: item },
  };
}

function envelopeOfResult(
  deps: Deps,
  senderId: string,
  r: ReturnType<typeof receipt>,
  meta?: Readonly<Record<string, unknown>>,
) {
  return signedEnvelope(deps, {
    action: "on-receipt",
    status: r.status,
    receiverId: senderId,
    totalCount: 1,
    completedCount: 1,
    statusReasonCode: r.reasonCode,
    statusReasonMessage: r.reasonMessage,
    meta,
  }, r.message);
}

/**
 * The async receipt processor (action `receipt` of the transaction machinery): marks the caller's own
 * notification received (idempotent: a re-run finds it received and answers the same). The worker stores the
 * result and delivers it as the `on-receipt` callback, with the callback retries.
 */
export function receiptProcessor(deps: Deps, input: ProcessInput): Promise<ProcessResult> {
  const r = receipt(deps, input.senderId, input.message as Message, input.correlationId);
  return Promise.resolve({ ...r, totalCount: 1, completedCount: 1 });
}

/** Adds `sync/receipt` to one registry's router (the async `receipt` is a transaction route). */
export function receiptRoutes(app: OpenAPIHono<AppEnv>, deps: Deps, _registry: Registry): void {
  const auth = authenticate(deps, "registry.receipt");
  const request = { body: { content: { "application/json": { schema: ReceiptEnvelope } }, required: true } };
  const sync = createRoute({
    method: "post",
    middleware: [auth] as const,
    request,
    path: "/sync/receipt",
    tags: ["Sync"],
    summary: "Mark one of the caller's notifications received; answered with a signed on-receipt",
    responses: {
      200: {
        description: "Signed on-receipt envelope",
        content: { "application/json": { schema: SignedReceipt } },
      },
    },
  });
  app.openapi(sync, (c) => {
    const body = c.req.valid("json") as Body;
    const senderId = c.var.auth?.senderId ?? body.header.sender_id;
    const r = receipt(deps, senderId, body.message, crypto.randomUUID());
    Object.assign(c.var.logFields, { sender_id: senderId, correlation_id: r.message.correlation_id });
    return c.json(envelopeOfResult(deps, senderId, r, answerMeta(c.var.auth)), 200);
  });
}
