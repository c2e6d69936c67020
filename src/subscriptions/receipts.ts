/**
 * Receipts: `POST …/registry/sync/receipt` (signed `on-receipt` response) and `…/registry/receipt` (ACK 202,
 * then the `on-receipt` callback) mark one of the caller's own notifications received. The mark itself is
 * durable before the answer; the async callback is retried in this process with the callback delays.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import type { Registry } from "../dci/registry_router.ts";
import { authenticate } from "../auth/middleware.ts";
import { Ack, CallbackHeader, envelopeOf, Id99, type RequestHeader } from "../dci/schemas.ts";
import { DciError } from "../dci/errors.ts";
import { signedEnvelope } from "../dci/envelope.ts";
import { isoNow } from "../clock.ts";
import { getSender } from "../senders/store.ts";
import { retryDelay } from "../transactions/states.ts";
import { markReceived } from "./notifications.ts";
import { notifyUrl } from "./rules.ts";

/** Receipt message: the notification id (X-DCI-Notification-ID) or the notify envelope's message_id. */
export const ReceiptMessage = z.looseObject({
  transaction_id: Id99,
  notification_id: Id99.optional(),
  receipt: z.looseObject({ notification_id: Id99.optional(), message_id: Id99.optional() }).optional(),
}).openapi("ReceiptRequest");

const ReceiptEnvelope = envelopeOf(ReceiptMessage, "ReceiptEnvelope");
const SignedReceipt = z.object({
  signature: z.string(),
  header: CallbackHeader,
  message: z.record(z.string(), z.unknown()),
})
  .openapi("ReceiptResponseEnvelope");

type Body = { header: RequestHeader; message: z.output<typeof ReceiptMessage> };

/** The on-receipt result of one receipt request. */
export function receipt(deps: Deps, senderId: string, body: Body, correlationId: string) {
  const m = body.message;
  const id = m.notification_id ?? m.receipt?.notification_id ?? m.receipt?.message_id;
  if (!id) throw new DciError("err.request.bad", "Invalid request: message.notification_id is required");
  const now = isoNow(deps.clock);
  const r = markReceived(deps.db, senderId, id, now);
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

function envelopeOfResult(deps: Deps, senderId: string, r: ReturnType<typeof receipt>, messageId?: string) {
  return signedEnvelope(deps, {
    action: "on-receipt",
    status: r.status,
    receiverId: senderId,
    totalCount: 1,
    completedCount: 1,
    statusReasonCode: r.reasonCode,
    statusReasonMessage: r.reasonMessage,
    messageId,
  }, r.message);
}

/** Delivers the async on-receipt callback, retrying with the callback delays; never throws. */
async function deliverReceipt(deps: Deps, url: string, senderId: string, r: ReturnType<typeof receipt>) {
  const delay = retryDelay(deps.config.callbackRetryDelaysMs);
  const messageId = crypto.randomUUID();
  for (let attempt = 1;; attempt++) {
    let error: string;
    try {
      const res = await deps.http.request(url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "X-DCI-Transaction-ID": String(r.message.transaction_id),
        },
        body: JSON.stringify(envelopeOfResult(deps, senderId, r, messageId)),
      });
      if (res.status >= 200 && res.status < 300) return;
      error = `HTTP ${res.status}`;
    } catch (err) {
      error = (err as Error)?.message ?? "error";
    }
    const wait = delay(attempt);
    if (wait === null || !deps.db.isOpen) {
      deps.log.warn("on-receipt callback failed", { sender_id: senderId, error });
      return;
    }
    await new Promise((res) => setTimeout(res, wait));
  }
}

/** Adds `receipt` and `sync/receipt` to one registry's router. */
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
    const r = receipt(deps, senderId, body, crypto.randomUUID());
    Object.assign(c.var.logFields, { sender_id: senderId, correlation_id: r.message.correlation_id });
    return c.json(envelopeOfResult(deps, senderId, r), 200);
  });
  const async = createRoute({
    method: "post",
    middleware: [auth] as const,
    request,
    path: "/receipt",
    tags: ["Async"],
    summary: "Mark one of the caller's notifications received; ACK now, on-receipt by callback",
    responses: {
      202: {
        description: "Accepted (ACK with correlation_id)",
        content: { "application/json": { schema: Ack } },
      },
    },
  });
  app.openapi(async, (c) => {
    const body = c.req.valid("json") as Body;
    const senderId = c.var.auth?.senderId ?? body.header.sender_id;
    const url = notifyUrl(
      getSender(deps, senderId)?.callback_base_url ?? body.header.sender_uri,
      "on-receipt",
    );
    if (!url) {
      throw new DciError(
        "err.sender_uri.invalid",
        "header.sender_uri must be an absolute http(s) URL for the callback",
      );
    }
    const correlationId = crypto.randomUUID();
    const r = receipt(deps, senderId, body, correlationId);
    Object.assign(c.var.logFields, { sender_id: senderId, correlation_id: correlationId });
    void deliverReceipt(deps, url, senderId, r);
    return c.json({
      message: { ack_status: "ACK" as const, timestamp: isoNow(deps.clock), correlation_id: correlationId },
    }, 202);
  });
}
