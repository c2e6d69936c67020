/**
 * An import into a deployment's own registry (registered at start, unknown to the parse worker, which has the
 * built-in registries only) is read in the server's isolate and written like any other: the job ends done with
 * its counts, the records are stored with the registry's own fields, a bad row is rejected by line.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";
import { startImportRunner } from "../../src/registry/imports/runner.ts";
import { registerProfile } from "../../src/registries/index.ts";
import { testProfile } from "../registries/test_profile.ts";

type Json = Record<string, unknown>;

/**
 * Deps serving the test registry `tst` as a deployment's own, an admin API caller, and `run`: uploads a file and
 * runs the import runner until it is idle, answering the job. `done` removes the registry again.
 */
async function setup() {
  const unregister = registerProfile(testProfile);
  const deps = await testDeps();
  deps.extensions = { registries: [testProfile] };
  const app = createApp(deps);
  const admin = await deps.storage.adminTokens.create({ role: "admin", name: "ops" });
  const call = async (method: string, path: string, init: { body?: string; type?: string } = {}) => {
    const res = await app.request(`/admin/v1${path}`, {
      method,
      headers: {
        authorization: `Bearer ${admin.token}`,
        ...(init.type ? { "content-type": init.type } : {}),
      },
      body: init.body,
    });
    return { status: res.status, body: await res.json() as Json };
  };
  const run = async (fileName: string, body: string, type: string) => {
    const posted = await call("POST", `/registries/tst/imports?file_name=${fileName}`, { body, type });
    assert.equal(posted.status, 202, JSON.stringify(posted.body));
    const runner = startImportRunner(deps);
    await runner.idle();
    await runner.stop();
    return (await call("GET", `/registries/tst/imports/${posted.body.id}`)).body;
  };
  const done = () => {
    deps.close();
    unregister();
  };
  return { call, run, done };
}

for (
  const [format, type, body] of [
    [
      "csv",
      "text/csv",
      "id,given_name,surname,birth_date,id.TST_ID,skills,certified\n" +
      "EXT-1,Ann,Lee,1990-05-01,TST-1,welding|carpentry,true\n" +
      "EXT-2,Ben,Okafor,not-a-date,TST-2,masonry,false\n" +
      "EXT-3,Cleo,Mwale,1985-02-03,TST-3,masonry,false\n",
    ],
    [
      "ndjson",
      "application/x-ndjson",
      [
        {
          id: "EXT-1",
          given_name: "Ann",
          birth_date: "1990-05-01",
          details: { skills: ["welding"], certified: true },
        },
        { id: "EXT-2", given_name: "Ben", details: { unknown: 1 } },
        { id: "EXT-3", given_name: "Cleo", details: { skills: ["masonry"] } },
      ].map((r) => JSON.stringify(r)).join("\n") + "\n",
    ],
  ] as const
) {
  Deno.test(`import into a deployment's own registry (${format}): read in the isolate, stored with its fields`, async () => {
    const { call, run, done } = await setup();
    try {
      const job = await run(`people.${format}`, body, type);
      assert.equal(job.state, "done", JSON.stringify(job));
      assert.deepEqual([job.read, job.registered, job.rejected_count], [3, 2, 1]);
      assert.equal((job.rejected as Array<{ line: number }>)[0].line, format === "csv" ? 3 : 2);
      const rec = await call("GET", "/registries/tst/registrants/EXT-1");
      assert.equal(rec.status, 200, JSON.stringify(rec.body));
      assert.deepEqual(
        (rec.body.details as Json).skills,
        format === "csv" ? ["welding", "carpentry"] : ["welding"],
      );
      assert.equal((await call("GET", "/registries/tst/registrants/EXT-3")).status, 200);
      assert.equal(
        (await call("GET", "/registries/social/registrants/EXT-1")).status,
        404,
        "not in another registry",
      );
    } finally {
      done();
    }
  });
}

Deno.test("import into a deployment's own registry: a file of several chunks and batches, and a bad file, in the isolate", async () => {
  const { call, run, done } = await setup();
  try {
    // More records than a parse chunk (5,000) and than an import batch (500): every one written once.
    const rows = Array.from({ length: 6_001 }, (_, i) => `BIG-${i},Name${i},1990-01-01,TST-B${i}`);
    const big = await run(
      "big.csv",
      "id,given_name,birth_date,id.TST_ID\n" + rows.join("\n") + "\n",
      "text/csv",
    );
    assert.equal(big.state, "done", JSON.stringify(big));
    assert.deepEqual([big.read, big.registered, big.rejected_count], [6_001, 6_001, 0]);
    assert.equal((await call("GET", "/registries/tst/registrants/BIG-6000")).status, 200);
    // A file the reader refuses (a column repeated) fails its job with the file's reason, writing nothing.
    const bad = await run("bad.csv", "id,given_name,given_name\nBAD-1,A,B\n", "text/csv");
    assert.equal(bad.state, "failed", JSON.stringify(bad));
    assert.match(String(bad.error), /given_name/);
    assert.equal((await call("GET", "/registries/tst/registrants/BAD-1")).status, 404);
  } finally {
    done();
  }
});
