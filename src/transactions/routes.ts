/**
 * Async registry endpoints (`search`, `subscribe`, `unsubscribe`, `txn/status`, `receipt`: HTTP 202 ACK with the
 * correlation_id, result by callback) and `sync/txn/status`.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import type { Registry } from "../dci/registry_router.ts";
import { authenticate, type Scope } from "../auth/middleware.ts";
import { Ack, CallbackHeader, type RequestHeader } from "../dci/schemas.ts";
import { signedEnvelope } from "../dci/envelope.ts";
import { acceptTransaction } from "./accept.ts";
import { AsyncSearchEnvelope, SubscribeEnvelope, TxnStatusEnvelope, UnsubscribeEnvelope } from "./schemas.ts";
import type { TxnAction } from "./states.ts";
import { txnStatus } from "./txn_status.ts";
import { ReceiptEnvelope } from "../subscriptions/receipts.ts";
import { stateCounts } from "./store.ts";
import { answerMeta } from "../senders/settings.ts";

const ENDPOINTS: ReadonlyArray<{ path: string; action: TxnAction; scope: Scope; schema: z.ZodType }> = [
  { path: "/search", action: "search", scope: "registry.search", schema: AsyncSearchEnvelope },
  { path: "/subscribe", action: "subscribe", scope: "registry.subscribe", schema: SubscribeEnvelope },
  { path: "/unsubscribe", action: "unsubscribe", scope: "registry.subscribe", schema: UnsubscribeEnvelope },
  { path: "/txn/status", action: "txn-status", scope: "registry.txn-status", schema: TxnStatusEnvelope },
  { path: "/receipt", action: "receipt", scope: "registry.receipt", schema: ReceiptEnvelope },
];

const SignedStatusResponse = z.object({
  signature: z.string(),
  header: CallbackHeader,
  message: z.record(z.string(), z.unknown()),
}).openapi("TxnStatusResponseEnvelope");

type Envelope = { header: RequestHeader; message: Record<string, unknown> & { transaction_id: string } };

/** Adds the async endpoints and sync/txn/status to one registry's router. */
export function transactionRoutes(app: OpenAPIHono<AppEnv>, deps: Deps, registry: Registry): void {
  registerGauge(deps);
  for (const ep of ENDPOINTS) {
    const route = createRoute({
      method: "post",
      path: ep.path,
      tags: ["Async"],
      summary: `Async ${ep.action}: ACK now, result POSTed to the callback URL`,
      middleware: [authenticate(deps, ep.scope)] as const,
      request: { body: { content: { "application/json": { schema: ep.schema } }, required: true } },
      responses: {
        202: {
          description: "Accepted (ACK with correlation_id)",
          content: { "application/json": { schema: Ack } },
        },
      },
    });
    app.openapi(route, async (c) => {
      const body = c.req.valid("json") as Envelope;
      const senderId = senderOf(c, body);
      const res = await acceptTransaction(deps, {
        registry,
        action: ep.action,
        senderId,
        header: body.header,
        message: body.message,
      });
      Object.assign(c.var.logFields, {
        sender_id: senderId,
        transaction_id: body.message.transaction_id,
        correlation_id: res.correlationId,
      });
      return c.json(res.ack, 202);
    });
  }
  const sync = createRoute({
    method: "post",
    path: "/sync/txn/status",
    tags: ["Sync"],
    summary: "Status of the caller's own transactions by transaction_id, correlation_id or reference_id_list",
    middleware: [authenticate(deps, "registry.txn-status")] as const,
    request: { body: { content: { "application/json": { schema: TxnStatusEnvelope } }, required: true } },
    responses: {
      200: {
        description: "Signed txn-on-status envelope",
        content: { "application/json": { schema: SignedStatusResponse } },
      },
    },
  });
  app.openapi(sync, (c) => {
    const body = c.req.valid("json") as Envelope;
    const senderId = senderOf(c, body);
    const correlationId = crypto.randomUUID();
    Object.assign(c.var.logFields, {
      sender_id: senderId,
      transaction_id: body.message.transaction_id,
      correlation_id: correlationId,
    });
    const r = txnStatus(deps, senderId, body.message, {
      transactionId: body.message.transaction_id,
      correlationId,
    });
    const envelope = signedEnvelope(deps, {
      action: "txn-on-status",
      status: r.status,
      receiverId: senderId,
      totalCount: r.totalCount,
      completedCount: r.completedCount,
      statusReasonCode: r.reasonCode,
      statusReasonMessage: r.reasonMessage,
      meta: answerMeta(c.var.auth),
    }, r.message);
    return c.json(envelope, 200);
  });
}

/** The authenticated sender; the header's sender_id only while the auth chain passes requests through. */
function senderOf(c: Context<AppEnv>, body: Envelope): string {
  return c.var.auth?.senderId ?? body.header.sender_id;
}

const gauged = new WeakSet<object>();

function registerGauge(deps: Deps): void {
  if (gauged.has(deps.metrics)) return;
  gauged.add(deps.metrics);
  deps.metrics.gauge(
    "dci_txn_queue_depth",
    "Async transactions by state (open states and callback_failed)",
    () => stateCounts(deps.db).map((r) => ({ labels: { state: r.state }, value: r.n })),
  );
}
