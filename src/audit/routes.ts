/** Admin API for the audit log: GET /audit (JSON pages, keyset) and its CSV export (paths under /admin/v1). */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AppEnv } from "../http/context.ts";
import type { Deps } from "../deps.ts";
import type { AuditFilter } from "./log.ts";
import { auditCsv } from "./csv.ts";

const Text = z.string().min(1).max(200);
const Time = z.iso.datetime({ offset: true });
const Query = z.object({
  actor: Text.optional().openapi({ description: "An admin token id (token, env) or OS user (cli)" }),
  action: Text.optional().openapi({ example: "sender.update" }),
  target_kind: Text.optional().openapi({ example: "sender" }),
  target_id: Text.optional(),
  source: z.enum(["api", "cli", "console"]).optional(),
  since: Time.optional().openapi({ description: "From this time (inclusive)" }),
  until: Time.optional().openapi({ description: "Before this time (exclusive)" }),
  before: z.coerce.number().int().min(1).optional().openapi({ description: "cursor: next_before of a page" }),
  limit: z.coerce.number().int().min(1).max(1000).default(50),
  format: z.enum(["json", "csv"]).default("json"),
});
const Row = z.record(z.string(), z.unknown()).openapi("AuditEntry");

const list = createRoute({
  method: "get",
  path: "/audit",
  tags: ["Admin"],
  summary: "The audit log of admin writes, newest first (format=csv: every matching row as CSV)",
  request: { query: Query },
  responses: {
    200: {
      description: "A page of audit entries, or the CSV export",
      content: {
        "application/json": { schema: z.object({ items: z.array(Row), next_before: z.number().nullable() }) },
        "text/csv": { schema: z.string() },
      },
    },
  },
});

const csv = createRoute({
  method: "get",
  path: "/audit.csv",
  tags: ["Admin"],
  summary: "Every audit entry matching the filters as CSV (formula-like cells neutralised)",
  request: { query: Query.omit({ format: true, limit: true }) },
  responses: { 200: { description: "CSV", content: { "text/csv": { schema: z.string() } } } },
});

/** Adds /audit and /audit.csv to the admin router. */
export function auditAdminRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  app.openapi(list, async (c) => {
    const q = c.req.valid("query");
    if (q.format === "csv") return exportCsv(c, deps, filterOf(q)) as never;
    return c.json(await deps.storage.audit.list({ ...filterOf(q), limit: q.limit }), 200);
  });
  app.openapi(csv, (c) => exportCsv(c, deps, filterOf(c.req.valid("query"))) as never);
}

function filterOf(q: Omit<z.output<typeof Query>, "format" | "limit">): AuditFilter {
  return {
    actor: q.actor,
    action: q.action,
    targetKind: q.target_kind,
    targetId: q.target_id,
    source: q.source,
    since: q.since && new Date(q.since).toISOString(),
    until: q.until && new Date(q.until).toISOString(),
    before: q.before,
  };
}

function exportCsv(c: Context<AppEnv>, deps: Deps, filter: AuditFilter): Response {
  const stamp = new Date(deps.clock.now()).toISOString().slice(0, 19).replace(/[:T]/g, "-");
  return new Response(auditCsv(deps.storage.audit, filter), {
    headers: {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="audit-${stamp}.csv"`,
      "cache-control": "no-store",
      "x-request-id": c.get("requestId"),
    },
  });
}
