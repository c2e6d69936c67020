/** POST {registry}/sync/search: the signed on-search answer, behind the auth chain. */
import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import type { Registry } from "../dci/registry_router.ts";
import { authenticate } from "../auth/middleware.ts";
import { signedEnvelope } from "../dci/envelope.ts";
import { Ack } from "../dci/schemas.ts";
import {
  PaginationRequest,
  SearchCriteria,
  SearchRequestEnvelope,
  SearchResponseEnvelope,
  SearchSort,
} from "../dci/search.ts";
import { runSearch } from "./search_run.ts";
import { answerMeta } from "../senders/settings.ts";

/** Adds the sync search endpoint to one registry's router. */
export function searchRoutes(app: OpenAPIHono<AppEnv>, deps: Deps, registry: Registry): void {
  app.openAPIRegistry.register("SearchCriteria", SearchCriteria);
  app.openAPIRegistry.register("SearchSort", SearchSort);
  app.openAPIRegistry.register("PaginationRequest", PaginationRequest);
  const route = createRoute({
    method: "post",
    path: "/sync/search",
    tags: [`${registry} registry`],
    summary: "Search the registry synchronously",
    description: registry === "social"
      ? "idtype-value, predicate and expression queries; each item answered with its own status."
      : "Not implemented for this registry: every item is answered rjct.action.not_supported.",
    middleware: [authenticate(deps, "registry.search")] as const,
    request: { body: { content: { "application/json": { schema: SearchRequestEnvelope } }, required: true } },
    responses: {
      200: {
        description: "Signed on-search envelope",
        content: { "application/json": { schema: SearchResponseEnvelope } },
      },
      400: {
        description: "ERR ACK, or a rjct envelope for header-level rejections",
        content: { "application/json": { schema: Ack } },
      },
      401: { description: "ERR ACK", content: { "application/json": { schema: Ack } } },
    },
  });
  app.openapi(route, async (c) => {
    const body = c.req.valid("json");
    c.set("logFields", {
      ...c.get("logFields"),
      sender_id: body.header.sender_id,
      transaction_id: body.message.transaction_id,
    });
    const started = performance.now();
    const outcome = await runSearch(deps, body.header.sender_id, {
      registry,
      header: body.header,
      message: body.message,
      lenientTotalCount: c.var.auth?.lenient?.includes("total_count"),
    });
    deps.metrics.observe(
      "dci_search_seconds",
      "Search message processing time (server side, without signing)",
      { registry },
      (performance.now() - started) / 1000,
    );
    const envelope = signedEnvelope(deps, {
      action: "on-search",
      status: outcome.status,
      receiverId: body.header.sender_id,
      totalCount: outcome.totalCount,
      completedCount: outcome.completedCount,
      statusReasonCode: outcome.statusReasonCode,
      statusReasonMessage: outcome.statusReasonMessage,
      meta: answerMeta(c.var.auth),
    }, outcome.message);
    return c.json({ ...envelope, message: outcome.message }, 200);
  });
}
