/** Admin API for the dashboard's chart data: GET /dashboard?range=hour|day (path under /admin/v1). */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";

const route = createRoute({
  method: "get",
  path: "/dashboard",
  tags: ["Admin"],
  summary:
    "Requests by registry, sender and status, rate-limit refusals, callbacks and notifications by outcome and the queue depth: the last hour per minute or the last day per 10 minutes",
  request: { query: z.object({ range: z.enum(["hour", "day"]).default("hour") }) },
  responses: {
    200: {
      description: "Series of equal length, oldest bucket first",
      content: {
        "application/json": { schema: z.record(z.string(), z.unknown()).openapi("DashboardSeries") },
      },
    },
  },
});

/** Adds /dashboard to the admin router. */
export function dashboardAdminRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  app.openapi(
    route,
    async (c) => c.json(await deps.storage.history.series(c.req.valid("query").range, deps.clock.now()), 200),
  );
}
