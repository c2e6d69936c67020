/**
 * Registry imports through the admin API (POST /admin/v1/registries/{registry}/imports): the upload is spooled,
 * the worker imports it in batches with the CLI import's parsing and checks, the job shows its counts and the
 * rejected rows by line; an over-size upload is refused with 413; a stopped or killed import resumes where its
 * last batch committed; a viewer may read jobs but not start one; the import is audited.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { createAdminToken } from "../../src/admin/tokens.ts";
import { startImportRunner } from "../../src/registry/imports/runner.ts";
import { spoolDir } from "../../src/registry/imports/spool.ts";
import { listAudit } from "../../src/audit/log.ts";

type Json = Record<string, unknown>;

const CSV = "id,given_name,surname,sex,birth_date,id.UIN\n" +
  "IMP-1,Ana,Banda,female,1990-01-02,UIN-IMP-1\n" +
  "IMP-2,Ben,Phiri,male,not-a-date,UIN-IMP-2\n" +
  "IMP-3,Cleo,Mwale,female,1985-07-30,UIN-IMP-3\n";

async function setup(overrides: Record<string, string> = {}) {
  const deps = await testDeps(overrides);
  const app = createApp(deps);
  const admin = await createAdminToken(deps.db, { role: "admin", name: "ops" });
  const viewer = await createAdminToken(deps.db, { role: "viewer", name: "watcher" });
  const call = async (
    method: string,
    path: string,
    init: { body?: BodyInit; type?: string; token?: string } = {},
  ) => {
    const res = await app.request(`/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${init.token ?? admin.token}`,
        ...(init.type ? { "content-type": init.type } : {}),
      },
      body: init.body,
    });
    const text = await res.text();
    let body: Json = {};
    try {
      body = JSON.parse(text);
    } catch { /* not JSON */ }
    return { status: res.status, body, text };
  };
  return { deps, app, admin, viewer, call };
}

Deno.test("POST …/imports: a CSV with a bad row is imported in the background; the job counts it and names the line and reason", async () => {
  const { deps, admin, call } = await setup();
  try {
    const posted = await call("POST", "/registries/social/imports?file_name=people.csv", {
      body: CSV,
      type: "text/csv",
    });
    assert.equal(posted.status, 202, posted.text);
    assert.equal(posted.body.state, "queued");
    assert.equal(posted.body.format, "csv");
    assert.equal(posted.body.file_name, "people.csv");
    const runner = startImportRunner(deps);
    await runner.idle();
    await runner.stop();
    const job = await call("GET", `/registries/social/imports/${posted.body.id}`);
    assert.equal(job.status, 200, job.text);
    assert.equal(job.body.state, "done");
    assert.deepEqual(
      [job.body.read, job.body.kept, job.body.registered, job.body.rejected_count],
      [3, 2, 2, 1],
    );
    const rejected = job.body.rejected as Array<{ line: number; reason: string }>;
    assert.equal(rejected.length, 1);
    assert.equal(rejected[0].line, 3);
    assert.match(rejected[0].reason, /birth_date/);
    const rec = await call("GET", "/registries/social/registrants/IMP-3");
    assert.equal(rec.status, 200);
    const list = await call("GET", "/registries/social/imports?limit=1");
    assert.deepEqual((list.body.items as Json[]).map((j) => j.id), [posted.body.id]);
    // One audit row: who uploaded what into which registry (never the file's content).
    const audit = listAudit(deps.db, { action: "registry.import" }).items;
    assert.equal(audit.length, 1);
    assert.equal(audit[0].actor, admin.info.id);
    assert.equal(audit[0].target_id, String(posted.body.id));
  } finally {
    deps.close();
  }
});
