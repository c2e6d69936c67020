/** Admin API for subscriptions and the notification log (paths under /admin/v1). */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import { DciError } from "../dci/errors.ts";
import { DateTime } from "../dci/schemas.ts";
import { listSubscriptions, SUBSCRIPTION_STATES, type SubscriptionRow } from "./store.ts";
import { listNotifications, NOTIFICATION_STATUSES } from "./notifications.ts";
import {
  approve,
  cancel,
  reactivate,
  showSubscription,
  SubscriptionOpError,
  subscriptionView,
} from "./operations.ts";

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
      sender_id: z.string().max(99).optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      offset: z.coerce.number().int().min(0).default(0),
    }),
  },
  responses: { 200: json(z.object({ items: z.array(Item) }), "A page of subscriptions") },
});

const show = createRoute({
  method: "get",
  path: "/subscriptions/{code}",
  tags: ["Admin"],
  summary: "One subscription",
  request: { params: Params },
  responses: { 200: json(Item, "The subscription") },
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
      sender_id: z.string().max(99).optional(),
      status: z.enum(NOTIFICATION_STATUSES).optional(),
      since: DateTime.optional(),
      until: DateTime.optional(),
      limit: z.coerce.number().int().min(1).max(500).default(50),
      offset: z.coerce.number().int().min(0).default(0),
    }),
  },
  responses: { 200: json(z.object({ items: z.array(Item) }), "A page of notifications") },
});

function toHttp(err: unknown): never {
  if (err instanceof SubscriptionOpError) {
    if (err.kind === "not_found") throw new DciError("err.request.not_found", err.message);
    throw new DciError("err.request.bad", err.message, { status: 409 });
  }
  throw err;
}

function guarded(deps: Deps, code: string, fn: (deps: Deps, code: string) => SubscriptionRow) {
  try {
    return subscriptionView(fn(deps, code));
  } catch (err) {
    toHttp(err);
  }
}

/** Adds the subscriptions and notifications admin endpoints. */
export function subscriptionAdminRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  app.openapi(list, (c) => {
    const q = c.req.valid("query");
    const rows = listSubscriptions(deps.db, {
      state: q.state,
      sender: q.sender_id,
      limit: q.limit,
      offset: q.offset,
    });
    return c.json({ items: rows.map(subscriptionView) }, 200);
  });
  app.openapi(show, (c) => c.json(guarded(deps, c.req.valid("param").code, showSubscription), 200));
  app.openapi(
    action("approve", "Approve a pending subscription"),
    (c) => c.json(guarded(deps, c.req.valid("param").code, approve), 200),
  );
  app.openapi(
    action("cancel", "Cancel a subscription (its waiting notifications fail)"),
    (c) => c.json(guarded(deps, c.req.valid("param").code, cancel), 200),
  );
  app.openapi(
    action("reactivate", "Reactivate a subscription in error; delivery resumes in order"),
    (c) => c.json(guarded(deps, c.req.valid("param").code, reactivate), 200),
  );
  app.openapi(notifications, (c) => {
    const q = c.req.valid("query");
    const items = listNotifications(deps.db, {
      subscription: q.subscription,
      sender: q.sender_id,
      status: q.status,
      since: q.since ? new Date(q.since).toISOString() : undefined,
      until: q.until ? new Date(q.until).toISOString() : undefined,
      limit: q.limit,
      offset: q.offset,
    });
    return c.json({ items }, 200);
  });
}
