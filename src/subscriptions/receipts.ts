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
import { markReceived, type ReceiptTarget } from "./notifications.ts";
import { MAX_CODE } from "../dci/limits.ts";
import { answerMeta } from "../senders/settings.ts";

/** The most beneficiaries a receipt_information may list (they are accepted and not used). */
const MAX_BENEFICIARIES = 1000;

/**
 * OpenSPP's receipt shape: the spec's ReceiptInformation (`receipt_type`, `beneficiaries`) plus the ids naming what
 * was received. `beneficiaries` are accepted (bounded) and not used: the receipt acknowledges a notification.
 */
const ReceiptInformation = z.looseObject({
  receipt_type: z.string().max(MAX_CODE).optional(),
  notification_id: Id99.optional(),
  subscription_code: Id99.optional(),
  beneficiaries: z.array(z.unknown()).max(MAX_BENEFICIARIES).optional(),
});

/**
 * Receipt message: the notification id (X-DCI-Notification-ID) or the notify envelope's message_id, as
 * `notification_id`, `receipt.notification_id|message_id` or `receipt_information.notification_id`; or only
 * `receipt_information.subscription_code` (that subscription's latest delivered notification).
 */
export const ReceiptMessage = z.looseObject({
  transaction_id: HeaderId,
  notification_id: Id99.optional(),
  receipt: z.looseObject({ notification_id: Id99.optional(), message_id: Id99.optional() }).optional(),
  receipt_information: ReceiptInformation.optional(),
}).superRefine((m, ctx) => {
  if (targetOf(m) !== undefined) return;
  ctx.addIssue({
    code: "custom",
    message: m.receipt_information
      ? "receipt_information.notification_id or receipt_information.subscription_code is required"
      : "message.notification_id (or receipt.notification_id / receipt.message_id, or receipt_information " +
        "with notification_id or subscription_code) is required",
    path: m.receipt_information ? ["receipt_information", "notification_id"] : ["notification_id"],
  });
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
  receipt_information?: { receipt_type?: string; notification_id?: string; subscription_code?: string };
};
type Body = { header: RequestHeader; message: Message };

function targetOf(m: Message): ReceiptTarget | undefined {
  const info = m.receipt_information;
  const id = m.notification_id ?? m.receipt?.notification_id ?? m.receipt?.message_id ??
    info?.notification_id;
  const code = info?.subscription_code;
  if (id !== undefined) return { notificationId: id, subscriptionCode: code };
  return code === undefined ? undefined : { subscriptionCode: code };
}

function notFound(target: ReceiptTarget | undefined, senderId: string): string {
  if (target?.notificationId === undefined) {
    return `No delivered notification of subscription ${
      JSON.stringify(target?.subscriptionCode ?? "")
    } of sender "${senderId}"`;
  }
  const within = target.subscriptionCode === undefined
    ? ""
    : ` in subscription ${JSON.stringify(target.subscriptionCode)}`;
  return `No notification ${JSON.stringify(target.notificationId)}${within} of sender "${senderId}"`;
}

/** The on-receipt result of one receipt message: the caller's own notification marked received, or rjct. */
export function receipt(deps: Deps, senderId: string, m: Message, correlationId: string) {
  const target = targetOf(m);
  const now = isoNow(deps.clock);
  const r = target ? markReceived(deps.db, senderId, target, now) : { ok: false as const };
  const item = r.ok
    ? {
      notification_id: r.row.notification_id,
      subscription_code: r.row.subscription_code,
      status: "succ",
      timestamp: now,
    }
    : {
      ...(target?.notificationId === undefined ? {} : { notification_id: target.notificationId }),
      ...(target?.subscriptionCode === undefined ? {} : { subscription_code: target.subscriptionCode }),
      status: "rjct",
      status_reason_code: "rjct.reference_id.invalid",
      status_reason_message: notFound(target, senderId),
      timestamp: now,
    };
  return {
    status: (r.ok ? "succ" : "rjct") as "succ" | "rjct",
    reasonCode: r.ok ? undefined : "rjct.reference_id.invalid",
    reasonMessage: r.ok ? undefined : notFound(target, senderId),
    message: {
      transaction_id: m.transaction_id,
      correlation_id: correlationId,
      // The spec's ReceiptResponse shape (also what txn status of a receipt shows): what was acknowledged.
      receipt_information: {
        ...(m.receipt_information?.receipt_type === undefined
          ? {}
          : { receipt_type: m.receipt_information.receipt_type }),
        ...(item.notification_id === undefined ? {} : { notification_id: item.notification_id }),
        ...(item.subscription_code === undefined ? {} : { subscription_code: item.subscription_code }),
      },
      receipt_response: item,
    },
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
