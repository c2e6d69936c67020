/** Admin API for transactions: list, show, and retry a failed callback (paths under /admin/v1). */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import { MAX_SENDER_ID } from "../dci/limits.ts";
import { REGISTRY_NAME } from "../config.ts";
import { DateTime } from "../dci/schemas.ts";
import { TXN_ACTIONS, TXN_STATES } from "./states.ts";
import { BULK_FORMATS } from "./bulk_file.ts";
import { PAGES_LISTED } from "./bulk_store.ts";
import { detail, findTxn, listTxns, retryCallback, retryRefusalMessage, summarize } from "./operations.ts";

const Summary = z.record(z.string(), z.unknown()).openapi("TransactionSummary");
const Params = z.object({ correlation_id: z.string().min(1).max(99) });
const Attempt = z.object({
  attempt: z.number().int().openapi({ description: "1, 2, … per transaction, across operator retries" }),
  started_at: z.string(),
  duration_ms: z.number().int(),
  url: z.string().openapi({ description: "The callback URL it went to (never a credential)" }),
  outcome: z.enum(["sent", "retry", "failed"]).openapi({
    description: "sent: delivered; retry: another attempt was scheduled; failed: the last (callback_failed)",
  }),
  http_status: z.number().int().nullable().openapi({
    description: "The receiver's HTTP status, if one came",
  }),
  receiver_code: z.string().nullable().openapi({
    description:
      "The receiver's ERR code when it answered 2xx with ack_status ERR, or rjct.message_id.duplicate on a " +
      "delivered attempt the receiver already had",
  }),
  error: z.string().nullable().openapi({ description: "Why the attempt failed (at most 500 characters)" }),
}).openapi("CallbackAttempt");
const Bulk = z.object({
  file_name: z.string(),
  file_format: z.enum(BULK_FORMATS),
  page_size: z.number().int().openapi({ description: "Answers per on-search callback" }),
  items_total: z.number().int().openapi({ description: "Lookups in the file" }),
  items_done: z.number().int().openapi({ description: "Lookups answered so far" }),
  pages_total: z.number().int(),
  pages_delivered: z.number().int(),
  pages_failed: z.number().int().openapi({
    description: "Pages failed for good (txn retry sends them again)",
  }),
  pages_undelivered: z.array(z.object({
    page: z.number().int(),
    state: z.enum(["pending", "failed"]).openapi({
      description: "pending: built, waiting for its (next) delivery attempt; failed: failed for good",
    }),
    attempts: z.number().int(),
    last_error: z.string().nullable(),
  })).openapi({ description: `The first ${PAGES_LISTED} built pages not delivered, in page order` }),
}).openapi("BulkSearchProgress");
const Detail = z.object({
  callback_attempts: z.array(Attempt).openapi({
    description: "Every callback attempt, oldest first (the last 50 are kept)",
  }),
  callback_attempts_omitted: z.number().int().openapi({ description: "Older attempts no longer kept" }),
  bulk: Bulk.optional().openapi({
    description:
      "A bulk search's progress (a search sent as a file); its page attempts are not in callback_attempts",
  }),
}).catchall(z.unknown()).openapi("TransactionDetail");

const list = createRoute({
  method: "get",
  path: "/transactions",
  tags: ["Admin"],
  summary: "List async transactions, newest first",
  request: {
    query: z.object({
      state: z.enum(TXN_STATES).optional(),
      action: z.enum(TXN_ACTIONS).optional(),
      sender_id: z.string().max(MAX_SENDER_ID).optional(),
      transaction_id: z.string().max(99).optional(),
      registry: z.string().regex(REGISTRY_NAME).optional(),
      since: DateTime.optional(),
      until: DateTime.optional(),
      before: z.coerce.number().int().min(1).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
    }),
  },
  responses: {
    200: {
      description: "A page of transactions",
      content: {
        "application/json": {
          schema: z.object({ items: z.array(Summary), next_before: z.number().nullable() }),
        },
      },
    },
  },
});

const show = createRoute({
  method: "get",
  path: "/transactions/{correlation_id}",
  tags: ["Admin"],
  summary: "One transaction with its request, result, callback state and every callback attempt",
  request: { params: Params },
  responses: {
    200: { description: "The transaction", content: { "application/json": { schema: Detail } } },
  },
});

const retry = createRoute({
  method: "post",
  path: "/transactions/{correlation_id}/retry",
  tags: ["Admin"],
  summary:
    "Retry the callback of a transaction in callback_failed (fresh attempt budget); 409 for a disabled or deleted sender",
  request: { params: Params },
  responses: {
    202: { description: "Retry scheduled", content: { "application/json": { schema: Summary } } },
  },
});

/** Adds the transactions admin endpoints. */
export function transactionAdminRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    return c.json(
      await listTxns(deps, {
        state: q.state,
        action: q.action,
        senderId: q.sender_id,
        transactionId: q.transaction_id,
        registry: q.registry,
        since: q.since ? new Date(q.since).toISOString() : undefined,
        until: q.until ? new Date(q.until).toISOString() : undefined,
        before: q.before,
        limit: q.limit,
      }),
      200,
    );
  });
  app.openapi(show, async (c) => {
    const row = await findTxn(deps, c.req.valid("param").correlation_id);
    if (!row) throw notFound(c.req.valid("param").correlation_id);
    return c.json(await detail(deps, row), 200);
  });
  app.openapi(retry, async (c) => {
    const id = c.req.valid("param").correlation_id;
    const r = await retryCallback(deps, id);
    if (r.ok) return c.json(summarize(r.row), 202);
    if (r.reason === "not_found") throw notFound(id);
    throw new DciError("err.request.bad", retryRefusalMessage(id, r.reason, r.state), { status: 409 });
  });
}

function notFound(id: string): DciError {
  return new DciError("err.request.not_found", `No transaction with correlation_id ${JSON.stringify(id)}`);
}
