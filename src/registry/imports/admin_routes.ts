/**
 * Admin API for registry imports (under /admin/v1): upload a file (streamed to the spool, answered 202 with the
 * queued job), list a registry's imports, and one import with its counts and rejected rows.
 */
import { createRoute, type OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../http/context.ts";
import type { Deps } from "../../deps.ts";
import { DciError } from "../../dci/errors.ts";
import type { ImportJob } from "./store.ts";
import { servedProfile, startImport } from "./service.ts";

const REGISTRY = z.string().regex(/^[a-z][a-z0-9_-]{0,39}$/).openapi({ example: "crvs" });
const JOB_ID = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER).openapi({ example: 7 });

/** An import job as the API shows it. */
export const ImportJobView = z.object({
  id: z.number().int(),
  registry: z.string(),
  format: z.enum(["csv", "ndjson", "json"]),
  file_name: z.string(),
  bytes: z.number().int(),
  state: z.enum(["queued", "running", "done", "failed"]),
  error: z.string().nullable().openapi({ description: "why a failed import stopped" }),
  read: z.number().int().openapi({ description: "records read so far (kept + rejected)" }),
  kept: z.number().int().openapi({ description: "records written (registered + updated)" }),
  registered: z.number().int(),
  updated: z.number().int(),
  rejected_count: z.number().int(),
  created_at: z.string(),
  started_at: z.string().nullable(),
  finished_at: z.string().nullable(),
}).openapi("ImportJob");

const Rejected = z.object({ line: z.number().int(), reason: z.string() }).openapi("ImportRejectedRow");
const ImportJobDetail = ImportJobView.extend({
  rejected: z.array(Rejected).openapi({
    description: "the first rejected rows (at most 1000; rejected_count counts them all), in file order",
  }),
}).openapi("ImportJobDetail");
const ImportJobPage = z.object({ items: z.array(ImportJobView), next_before: z.number().int().nullable() })
  .openapi("ImportJobPage");

/** The snake_case view of a job. */
export function importJobView(job: ImportJob): z.infer<typeof ImportJobView> {
  return {
    id: job.id,
    registry: job.registry,
    format: job.format,
    file_name: job.fileName,
    bytes: job.bytes,
    state: job.state,
    error: job.error,
    read: job.read,
    kept: job.registered + job.updated,
    registered: job.registered,
    updated: job.updated,
    rejected_count: job.rejectedCount,
    created_at: job.createdAt,
    started_at: job.startedAt,
    finished_at: job.finishedAt,
  };
}

const json = (schema: z.ZodType, description: string) => ({
  description,
  content: { "application/json": { schema } },
});
const FILE = { schema: z.string().openapi({ format: "binary" }) };

/** Registers the import routes. */
export function importAdminRoutes(app: OpenAPIHono<AppEnv>, deps: Deps): void {
  const tags = ["registry imports"];
  app.openapi(
    createRoute({
      method: "post",
      path: "/registries/{registry}/imports",
      tags,
      summary: "Import a file of records (CSV, NDJSON or a JSON array) in the background",
      description: "The body is the file itself, as `registry import` reads it (CSV columns per registry; " +
        "NDJSON; a JSON array sent as application/json). It is streamed to the data dir, up to " +
        "DCI_IMPORT_UPLOAD_MAX_BYTES (413 beyond), and imported by the worker in small batches; each record " +
        "is an upsert by id and a registry event. Poll the job for progress and rejected rows.",
      request: {
        params: z.object({ registry: REGISTRY }),
        query: z.object({
          format: z.enum(["csv", "ndjson", "json"]).optional().openapi({
            description: "default: from the Content-Type, else the file name, else the first character",
          }),
          file_name: z.string().max(200).optional().openapi({
            description: "shown in the job (display only)",
          }),
        }),
        body: {
          required: true,
          content: { "text/csv": FILE, "application/x-ndjson": FILE, "application/octet-stream": FILE },
        },
      },
      responses: {
        202: json(ImportJobView, "Queued: the job to poll"),
        413: json(
          z.record(z.string(), z.unknown()),
          "ERR ACK: the file is larger than DCI_IMPORT_UPLOAD_MAX_BYTES",
        ),
      },
    }),
    async (c) => {
      const profile = servedProfile(deps, c.req.valid("param").registry);
      const q = c.req.valid("query");
      const body = c.req.raw.body;
      if (!body) throw new DciError("err.request.bad", "The body must be the file to import");
      const job = await startImport(deps, profile, body, {
        fileName: q.file_name,
        format: q.format,
        contentType: c.req.header("content-type"),
        actor: c.get("admin")?.id,
      });
      return c.json(importJobView(job), 202);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/registries/{registry}/imports",
      tags,
      summary: "A registry's imports, newest first",
      request: {
        params: z.object({ registry: REGISTRY }),
        query: z.object({
          limit: z.coerce.number().int().min(1).max(200).default(50),
          before: JOB_ID.optional().openapi({ description: "cursor: next_before of the previous page" }),
        }),
      },
      responses: { 200: json(ImportJobPage, "A page of imports") },
    }),
    async (c) => {
      const profile = servedProfile(deps, c.req.valid("param").registry);
      const q = c.req.valid("query");
      const page = await deps.storage.importJobs.list(profile.name, { before: q.before, limit: q.limit });
      return c.json({ items: page.items.map(importJobView), next_before: page.nextBefore }, 200);
    },
  );
  app.openapi(
    createRoute({
      method: "get",
      path: "/registries/{registry}/imports/{id}",
      tags,
      summary: "One import: state, counts and the first rejected rows",
      request: { params: z.object({ registry: REGISTRY, id: JOB_ID }) },
      responses: { 200: json(ImportJobDetail, "The import") },
    }),
    async (c) => {
      const p = c.req.valid("param");
      const profile = servedProfile(deps, p.registry);
      const job = await deps.storage.importJobs.get(p.id, profile.name);
      if (!job) {
        throw new DciError("err.request.not_found", `No import ${p.id} in the ${profile.name} registry`);
      }
      return c.json({ ...importJobView(job), rejected: await deps.storage.importJobs.rejects(job.id) }, 200);
    },
  );
}
