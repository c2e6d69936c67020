/**
 * Registry imports against the real server (`main.ts serve` on a loopback port): an upload answered by an HTTP
 * isolate is imported by the worker in the main isolate and its records answer a signed search; a server killed
 * (SIGKILL) in the middle of an import finishes it after a restart without writing any record twice.
 */
import assert from "node:assert/strict";
import { dataDirDatabase, postJson, startServerProcess } from "../helpers/server.ts";
import { createServerSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";

// deno-lint-ignore no-explicit-any
type Json = any;
const ADMIN = "import-e2e-admin-token-0123456789";

async function upload(url: string, body: string, type: string, name: string): Promise<Json> {
  const res = await fetch(`${url}/admin/v1/registries/social/imports?file_name=${name}`, {
    method: "POST",
    headers: { authorization: `Bearer ${ADMIN}`, "content-type": type },
    body,
  });
  const json = await res.json();
  assert.equal(res.status, 202, JSON.stringify(json));
  return json;
}

async function job(url: string, id: number): Promise<Json> {
  const res = await fetch(`${url}/admin/v1/registries/social/imports/${id}`, {
    headers: { authorization: `Bearer ${ADMIN}` },
  });
  assert.equal(res.status, 200);
  return await res.json();
}

Deno.test("e2e import: an upload to an HTTP isolate is imported by the worker; the bad row is rejected and the good records answer a signed search", async () => {
  const server = await startServerProcess({ env: { DCI_ADMIN_TOKEN: ADMIN, DCI_HTTP_ISOLATES: "1" } });
  try {
    const csv = "id,given_name,surname,sex,birth_date,id.UIN\n" +
      "E-1,Ana,Banda,female,1990-01-02,UIN-E-1\n" +
      "E-2,Ben,Phiri,male,1990-13-45,UIN-E-2\n" +
      "E-3,Cleo,Mwale,female,1985-07-30,UIN-E-3\n";
    const queued = await upload(server.url, csv, "text/csv", "e.csv");
    await server.waitForLog((l) => l.msg === "import done" && l.id === queued.id, 60_000);
    const done = await job(server.url, queued.id);
    assert.deepEqual([done.state, done.read, done.kept, done.rejected_count], ["done", 3, 2, 1]);
    assert.equal(done.rejected[0].line, 3);
    assert.match(done.rejected[0].reason, /birth_date/);

    const sender = await createServerSender(server);
    const env = sender.sign(requestEnvelope(sender.senderId, {
      transaction_id: "imp",
      search_request: [{
        reference_id: "r1",
        timestamp: new Date().toISOString(),
        search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "UIN-E-3" } },
      }],
    }, { totalCount: 1 }));
    const res = await postJson(`${server.url}/registry/sync/search`, env, sender.headers());
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const found = (res.body as Json).message.search_response[0];
    assert.match(JSON.stringify(found.data.reg_records), /Mwale/);
  } finally {
    await server.stop();
  }
});

Deno.test("e2e import: a server killed mid-import resumes the job after a restart; every record is written once", async () => {
  const n = 40_000;
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      id: `K-${i}`,
      name: { given_name: "Jo", surname: "Chirwa" },
      identifier: [{ identifier_type: "UIN", identifier_value: `UIN-K-${i}` }],
    }));
  const first = await startServerProcess({ env: { DCI_ADMIN_TOKEN: ADMIN } });
  const dataDir = first.dataDir;
  let queued: Json;
  try {
    queued = await upload(first.url, lines.join("\n"), "application/x-ndjson", "k.ndjson");
    await first.waitForLog((l) => l.msg === "import started" && l.id === queued.id, 60_000);
  } finally {
    await first.stop("SIGKILL");
  }
  const db = await dataDirDatabase(dataDir);
  const [atKill] = await db.sql("SELECT state, read FROM registry_imports WHERE id = ?", [queued.id]);
  await db.close();
  assert.equal(atKill.state, "running", "killed while the import was running");
  assert.ok(Number(atKill.read) < n);

  const second = await startServerProcess({ env: { DCI_ADMIN_TOKEN: ADMIN }, dataDir });
  try {
    await second.waitForLog((l) => l.msg === "import done" && l.id === queued.id, 120_000);
    const done = await job(second.url, queued.id);
    assert.equal(done.state, "done");
    assert.deepEqual([done.read, done.registered, done.updated, done.rejected_count], [n, n, 0, 0]);
    const resumed = second.logs.find((l) => l.msg === "import started" && l.id === queued.id);
    assert.equal(resumed?.resume_after, Number(atKill.read));
  } finally {
    await second.stop();
    await Deno.remove(dataDir, { recursive: true }).catch(() => {});
  }
});
