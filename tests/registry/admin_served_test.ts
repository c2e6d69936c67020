/**
 * The registrant admin routes serve the registries this server serves (DCI_REGISTRIES) only: another registry the
 * binary has answers 404 on them, as on all its other paths, and nothing of it is written.
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { createApp } from "../helpers/app.ts";

Deno.test("registrant admin routes answer 404 for a registry not served, and write nothing there", async () => {
  const deps = await testDeps({ registries: "social" });
  try {
    const app = createApp(deps);
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    const call = (method: string, path: string, body?: unknown) =>
      app.request(`/admin/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const person = { id: "C-1", name: { given_name: "Ann", surname: "Lee" } };
    const refused = await call("POST", "/registries/crvs/registrants", person);
    assert.equal(refused.status, 404, await refused.text());
    assert.equal((await call("GET", "/registries/crvs/registrants")).status, 404);
    assert.equal((await call("GET", "/registries/crvs/registrants/C-1")).status, 404);
    const rows = await deps.sql("SELECT COUNT(*) AS n FROM registrants WHERE registry = 'crvs'");
    assert.equal(Number(rows[0].n), 0);
    // The served registry, by name and on the paths without one.
    assert.equal((await call("POST", "/registries/social/registrants", person)).status, 201);
    assert.equal((await call("GET", "/registrants/C-1")).status, 200);
  } finally {
    deps.close();
  }
});
