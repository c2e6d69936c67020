/**
 * Registry → Import: upload a file (streamed into the admin API's import service, src/registry/imports/), the
 * recent imports of the registry, and a job page whose progress part htmx polls every second until the import
 * is done or failed, with the counts and the rejected rows (line and reason).
 */
import type { Context, Hono } from "hono";
import type { Deps } from "../../deps.ts";
import { type ConsoleEnv, href } from "../context.ts";
import { Table, WriteForm } from "../components.tsx";
import { errorPage } from "../error_page.tsx";
import { consoleWrite } from "../write.ts";
import { csrfMatches } from "../session.ts";
import { streamUpload, UploadCsrfError, UploadFormError } from "../upload.ts";
import { servedRegistries } from "../../actions/registries.ts";
import { startImport } from "../../registry/imports/service.ts";
import type { ImportJob } from "../../registry/imports/store.ts";
import type { Rejection } from "../../registry/batch.ts";
import { DciError } from "../../dci/errors.ts";
import { cursor } from "../query.tsx";

const UPLOAD_PATH = /^\/console\/registry\/[a-z][a-z0-9_-]{0,39}\/imports\/?$/;

/**
 * True for the import upload's POST: the console reads it as a stream here (its CSRF field is checked in the
 * stream, before the file), not whole up front like every other form.
 */
export function isStreamedUpload(method: string, path: string): boolean {
  return method === "POST" && UPLOAD_PATH.test(path);
}

/** GET/POST /console/registry/:registry/imports and GET …/imports/:id (and its polled …/progress part). */
export function importPages(app: Hono<ConsoleEnv>, deps: Deps): void {
  const find = (name: string) =>
    servedRegistries(deps.config, deps.extensions?.registries).served.find((p) => p.name === name);

  app.get("/registry/:registry/imports", async (c) => {
    const profile = find(c.req.param("registry"));
    if (!profile) return notFound(c, "No such registry.");
    const before = cursor(c.req.query("before"));
    const page = await deps.storage.importJobs.list(profile.name, { before, limit: 50 });
    const limit = Math.round(deps.config.importUploadMaxBytes / 1024 / 1024);
    return c.render(
      <>
        <p>
          <a href={href(c, `registry/${profile.name}`)}>Back to the {profile.name} registry</a>
        </p>
        <WriteForm
          action={`registry/${profile.name}/imports`}
          enctype="multipart/form-data"
          label="Import a file"
        >
          <h2>Import a file</h2>
          <label>
            File
            <span class="hint">
              CSV (the columns of <code>registry import</code>), NDJSON or a JSON array; up to {limit}{" "}
              MB. Each record is added or updated by its id.
            </span>
            <input
              type="file"
              name="file"
              required
              accept=".csv,.ndjson,.jsonl,.json,text/csv,application/json"
            />
          </label>
          <div class="actions">
            <button type="submit">Import</button>
          </div>
        </WriteForm>
        <h2>Recent imports</h2>
        <Table<ImportJob>
          caption="Imports, newest first"
          rows={page.items}
          next={page.nextBefore ? `?before=${page.nextBefore}` : undefined}
          empty="No import yet."
          columns={[
            {
              title: "Import",
              cell: (j) => <a href={href(c, `registry/${profile.name}/imports/${j.id}`)}>{j.id}</a>,
              numeric: true,
            },
            { title: "File", cell: (j) => j.fileName },
            { title: "State", cell: (j) => <StateBadge state={j.state} /> },
            { title: "Read", cell: (j) => j.read, numeric: true },
            { title: "Kept", cell: (j) => j.registered + j.updated, numeric: true },
            { title: "Rejected", cell: (j) => j.rejectedCount, numeric: true },
            { title: "Uploaded", cell: (j) => j.createdAt },
          ]}
        />
      </>,
      { title: `Import into ${profile.name}` },
    );
  });

  app.post("/registry/:registry/imports", async (c) => {
    const profile = find(c.req.param("registry"));
    if (!profile) return notFound(c, "No such registry.");
    const session = c.get("session")!;
    try {
      return await consoleWrite(c, deps, {
        action: "registry.import",
        target: profile.name,
        to: `registry/${profile.name}/imports`,
      }, async () => {
        const job = await streamUpload(c.req.raw.body, c.req.header("content-type"), {
          field: "file",
          csrfOk: (token) => csrfMatches(session, token),
          take: (file) =>
            startImport(deps, profile, file.stream, {
              fileName: file.fileName,
              contentType: file.mimeType,
              actor: session.tokenId,
            }),
        }).catch((err) => {
          if (err instanceof UploadFormError) throw new DciError("err.request.bad", err.message);
          throw err;
        });
        return {
          to: `registry/${profile.name}/imports/${job.id}`,
          flash: { kind: "ok", text: `Import ${job.id} of ${job.fileName} is queued.` },
          detail: {
            registry: profile.name,
            job_id: job.id,
            file_name: job.fileName,
            bytes: job.bytes,
            format: job.format,
          },
        };
      });
    } catch (err) {
      if (err instanceof UploadCsrfError) return errorPage(c, 403, err.message);
      throw err;
    }
  });

  app.get("/registry/:registry/imports/:id", async (c) => {
    const job = await jobOf(c, deps, find);
    if (!job) return notFound(c, "No such import.");
    return c.render(
      <>
        <p>
          <a href={href(c, `registry/${job.registry}/imports`)}>All imports into {job.registry}</a>
        </p>
        <Progress job={job} rejected={await deps.storage.importJobs.rejects(job.id)} />
      </>,
      { title: `Import ${job.id}: ${job.fileName}` },
    );
  });

  // The part htmx swaps in every second while the import runs; once it has ended it no longer asks again.
  app.get("/registry/:registry/imports/:id/progress", async (c) => {
    const job = await jobOf(c, deps, find);
    if (!job) return c.text("No such import.", 404);
    return c.html(<Progress job={job} rejected={await deps.storage.importJobs.rejects(job.id)} />);
  });
}

function jobOf(
  c: Context<ConsoleEnv>,
  deps: Deps,
  find: (name: string) => unknown,
): Promise<ImportJob | undefined> {
  const registry = c.req.param("registry") ?? "";
  const id = Number(c.req.param("id"));
  if (!find(registry) || !Number.isSafeInteger(id) || id < 1) return Promise.resolve(undefined);
  return deps.storage.importJobs.get(id, registry);
}

function Progress(props: { job: ImportJob; rejected: Rejection[] }) {
  const { job } = props;
  const open = job.state === "queued" || job.state === "running";
  // Relative to the job page, the document htmx resolves against (the part itself is fetched one level deeper).
  const poll = open
    ? {
      "hx-get": `${job.id}/progress`,
      "hx-trigger": "every 1s",
      "hx-swap": "outerHTML",
    }
    : {};
  const more = job.rejectedCount - props.rejected.length;
  return (
    <section id="import-progress" aria-live="polite" aria-busy={open ? "true" : "false"} {...poll}>
      <dl class="props" id="import-props">
        <dt>State</dt>
        <dd>
          <StateBadge state={job.state} />
        </dd>
        {job.error && (
          <>
            <dt>Reason</dt>
            <dd>{job.error}</dd>
          </>
        )}
        <dt>Read</dt>
        <dd>{job.read}</dd>
        <dt>Registered</dt>
        <dd>{job.registered}</dd>
        <dt>Updated</dt>
        <dd>{job.updated}</dd>
        <dt>Rejected</dt>
        <dd>{job.rejectedCount}</dd>
        <dt>Format</dt>
        <dd>{job.format}, {job.bytes} bytes</dd>
        <dt>Uploaded</dt>
        <dd>{job.createdAt}</dd>
        {job.startedAt && (
          <>
            <dt>Started</dt>
            <dd>{job.startedAt}</dd>
          </>
        )}
        {job.finishedAt && (
          <>
            <dt>Finished</dt>
            <dd>{job.finishedAt}</dd>
          </>
        )}
      </dl>
      <h2>Rejected rows</h2>
      <Table<Rejection>
        caption="Rejected rows, in file order"
        rows={props.rejected}
        empty={open ? "None so far." : "None: every record was kept."}
        columns={[
          { title: "Line", cell: (r) => r.line, numeric: true },
          { title: "Reason", cell: (r) => r.reason },
        ]}
      />
      {more > 0 && <p>… and {more} more rejected rows (the first {props.rejected.length} are kept).</p>}
    </section>
  );
}

function StateBadge(props: { state: ImportJob["state"] }) {
  const cls = props.state === "done" ? "badge on" : props.state === "failed" ? "badge off" : "badge";
  return <span class={cls}>{props.state}</span>;
}

function notFound(c: Context<ConsoleEnv>, text: string) {
  c.status(404);
  return c.render(<p class="flash error" role="alert">{text}</p>, { title: "Not found" });
}
