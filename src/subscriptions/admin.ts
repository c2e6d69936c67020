/** Admin API for subscriptions and the notification log (paths under /admin/v1). */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import { MAX_SENDER_ID } from "../dci/limits.ts";
import { REGISTRY_NAME } from "../config.ts";
import { DateTime } from "../dci/schemas.ts";
import { SUBSCRIPTION_STATES, type SubscriptionRow } from "./store.ts";
import { NOTIFICATION_STATUSES } from "./notifications.ts";
import {
  approve,
  cancel,
  reactivate,
  retryNotification,
  retrySubscriptionNotifications,
  showSubscription,
  SubscriptionOpError,
  subscriptionView,
} from "./operations.ts";
import { importSubscriptions, SeedError, SeedSubscription, seedSubscription } from "./seed.ts";

/** The most rows an `offset` may skip: each is read and passed over, so a deep one is a scan (`before` is not). */
const MAX_OFFSET = 10_000;

/** The most subscriptions one import request may carry (the CLI imports files of any length). */
const MAX_IMPORT_ITEMS = 1000;

const Item = z.record(z.string(), z.unknown()).openapi("Subscription");
const Params = z.object({ code: z.string().min(1).max(99) });
const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { "application/json": { schema } },
});

const list = createRoute({
  method: "get",
  path: "/subscriptions",
  tags: ["Admin"],
  summary: "List subscriptions, newest first",
  request: {
    query: z.object({
      state: z.enum(SUBSCRIPTION_STATES).optional(),
      sender_id: z.string().max(MAX_SENDER_ID).optional(),
      registry: z.string().regex(REGISTRY_NAME).optional(),
      before: z.coerce.number().int().min(1).optional().openapi({
        description: "keyset cursor: next_before",
      }),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      offset: z.coerce.number().int().min(0).max(MAX_OFFSET).default(0).openapi({
        description:
          `rows skipped, at most ${MAX_OFFSET} (each is read and passed over): page deeper with before`,
      }),
    }),
  },
  responses: {
    200: json(
      z.object({ items: z.array(Item), next_before: z.number().nullable() }),
      "A page of subscriptions",
    ),
  },
});

const show = createRoute({
  method: "get",
  path: "/subscriptions/{code}",
  tags: ["Admin"],
  summary: "One subscription",
  request: { params: Params },
  responses: { 200: json(Item, "The subscription") },
});

const retryOne = createRoute({
  method: "post",
  path: "/notifications/{notification_id}/retry",
  tags: ["Admin"],
  summary:
    "Re-send a failed notification (same notification id and message_id, fresh attempt budget, before later ones; a member of a batch with the rest of it, as sealed)",
  request: { params: z.object({ notification_id: z.string().min(1).max(99) }) },
  responses: { 202: json(Item, "The notification, pending again") },
});

const retryAll = createRoute({
  method: "post",
  path: "/subscriptions/{code}/notifications/retry",
  tags: ["Admin"],
  summary: "Re-send every failed notification of an active subscription, oldest first",
  request: { params: Params },
  responses: {
    202: json(
      z.object({ subscription: z.string(), state: z.string(), retried: z.number() }),
      "How many were re-queued",
    ),
  },
});

const create = createRoute({
  method: "post",
  path: "/subscriptions",
  tags: ["Admin"],
  summary:
    "Create an active subscription for a sender with a chosen code (checked as a subscribe request is)",
  request: { body: { content: { "application/json": { schema: SeedSubscription } }, required: true } },
  responses: { 201: json(Item, "The subscription") },
});

const importRoute = createRoute({
  method: "post",
  path: "/subscriptions/import",
  tags: ["Admin"],
  summary: "Create many subscriptions, each checked and stored on its own; refusals name the item (1-based)",
  request: {
    body: {
      content: {
        "application/json": {
          schema: z.strictObject({ subscriptions: z.array(z.unknown()).min(1).max(MAX_IMPORT_ITEMS) }),
        },
      },
      required: true,
    },
  },
  responses: {
    200: json(
      z.object({
        read: z.number(),
        created: z.array(z.string()),
        rejected_count: z.number(),
        rejected: z.array(z.object({ item: z.number(), reason: z.string() })),
      }),
      "What was created and what was refused",
    ),
  },
});

function action(name: "approve" | "cancel" | "reactivate", summary: string) {
  return createRoute({
    method: "post",
    path: `/subscriptions/{code}/${name}`,
    tags: ["Admin"],
    summary,
    request: { params: Params },
    responses: { 200: json(Item, "The subscription after the change") },
  });
}

const notifications = createRoute({
  method: "get",
  path: "/notifications",
  tags: ["Admin"],
  summary: "The notification log, newest first, filtered by subscription, status and time",
  request: {
    query: z.object({
      subscription: z.string().max(99).optional(),
      sender_id: z.string().max(MAX_SENDER_ID).optional(),
      status: z.enum(NOTIFICATION_STATUSES).optional(),
      since: DateTime.optional(),
      until: DateTime.optional(),
      before: z.coerce.number().int().min(1).optional().openapi({
        description: "keyset cursor: next_before",
      }),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      offset: z.coerce.number().int().min(0).max(MAX_OFFSET).default(0).openapi({
        description:
          `rows skipped, at most ${MAX_OFFSET} (each is read and passed over): page deeper with before`,
      }),
    }),
  },
  responses: {
    200: json(
      z.object({ items: z.array(Item), next_before: z.number().nullable() }),
      "A page of notifications",
    ),
  },
});

/** The keyset cursor after a full page (its last row's id), null after the last page. */
function nextBefore(rows: ReadonlyArray<{ id: number }>, limit: number): number | null {
  return rows.length === limit ? Number(rows[rows.length - 1].id) : null;
}

function toHttp(err: unknown): never {
  if (err instanceof SeedError) {
    throw new DciError("err.request.bad", err.message, err.kind === "conflict" ? { status: 409 } : {});
  }
  if (err instanceof SubscriptionOpError) {
    if (err.kind === "not_found") throw new DciError("err.request.not_found", err.message);
    throw new DciError("err.request.bad", err.message, { status: 409 });
  }
  throw err;
}

async function guarded<T>(
  deps: Deps,
  code: string,
  fn: (deps: Deps, code: string) => Promise<T>,
): Promise<T> {
  try {
    return await fn(deps, code);
  } catch (err) {
    toHttp(err);
  }
}

const view =
  (fn: (deps: Deps, code: string) => Promise<SubscriptionRow>) => async (deps: Deps, code: string) =>
    subscriptionView(await fn(deps, code));

/** Adds the subscriptions and notifications admin endpoints. */
export function subscriptionAdminRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  app.openapi(create, async (c) => {
    try {
      return c.json(subscriptionView(await seedSubscription(deps, c.req.valid("json"))), 201);
    } catch (err) {
      toHttp(err);
    }
  });
  app.openapi(importRoute, async (c) => {
    const items = c.req.valid("json").subscriptions.map((raw, i) => ({ line: i + 1, raw }));
    const r = await importSubscriptions(deps, items);
    return c.json({
      read: r.read,
      created: r.created,
      rejected_count: r.rejectedCount,
      rejected: r.rejected.map(({ line, reason }) => ({ item: line, reason })),
    }, 200);
  });
  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    const rows = await deps.storage.subscriptions.list({
      state: q.state,
      sender: q.sender_id,
      registry: q.registry,
      before: q.before,
      limit: q.limit,
      offset: q.offset,
    });
    return c.json({ items: rows.map(subscriptionView), next_before: nextBefore(rows, q.limit) }, 200);
  });
  app.openapi(
    show,
    async (c) => c.json(await guarded(deps, c.req.valid("param").code, view(showSubscription)), 200),
  );
  app.openapi(
    action("approve", "Approve a pending subscription"),
    async (c) => c.json(await guarded(deps, c.req.valid("param").code, view(approve)), 200),
  );
  app.openapi(
    action("cancel", "Cancel a subscription (its waiting notifications fail)"),
    async (c) => c.json(await guarded(deps, c.req.valid("param").code, view(cancel)), 200),
  );
  app.openapi(
    action(
      "reactivate",
      "Reactivate a subscription in error; the notifications that failed since the last delivered one are re-sent, then those that waited, in order",
    ),
    async (c) => {
      const { row, resent } = await guarded(deps, c.req.valid("param").code, reactivate);
      return c.json({ ...subscriptionView(row), resent_notifications: resent }, 200);
    },
  );
  app.openapi(retryAll, async (c) => {
    const { row, retried } = await guarded(deps, c.req.valid("param").code, retrySubscriptionNotifications);
    return c.json({ subscription: row.code, state: row.state, retried }, 202);
  });
  app.openapi(
    retryOne,
    async (c) => c.json(await guarded(deps, c.req.valid("param").notification_id, retryNotification), 202),
  );
  app.openapi(notifications, async (c) => {
    const q = c.req.valid("query");
    const items = await deps.storage.notifications.list({
      subscription: q.subscription,
      sender: q.sender_id,
      status: q.status,
      since: q.since ? new Date(q.since).toISOString() : undefined,
      until: q.until ? new Date(q.until).toISOString() : undefined,
      before: q.before,
      limit: q.limit,
      offset: q.offset,
    });
    return c.json({ items, next_before: nextBefore(items, q.limit) }, 200);
  });
}
