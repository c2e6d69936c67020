/**
 * What held (issue 11): the viewer role is refused on every write. The admin write routes are read from the
 * Hono app itself (`app.routes`), so a route added later is covered without touching this test; each is called
 * with real ids (a sender, key, client, registrant, transaction, subscription and notification that exist).
 */
import assert from "node:assert/strict";
import type { Json } from "../transactions/support.ts";
import { adminCaller, databaseFingerprint, populated } from "./held_support.ts";
import { demoPlaces } from "../../src/locations/demo.ts";

const READS = new Set(["GET", "HEAD"]);

Deno.test("held: a viewer token gets 403 on every admin write route (read from app.routes) and changes nothing; an admin token passes", async () => {
  const { h, correlationId, code, notificationId } = await populated();
  try {
    await h.deps.storage.locations.replace(demoPlaces(), {
      source: "demo",
      now: new Date(h.deps.clock.now()).toISOString(),
    });
    // Import 1, so that its GET answers 200 to the viewer.
    await h.deps.storage.importJobs.create({
      registry: "social",
      format: "csv",
      fileName: "a.csv",
      bytes: 1,
      spoolFile: "import-held.upload",
    }, new Date(h.deps.clock.now()).toISOString());
    const ids: Record<string, string> = {
      "senders/:id": h.alice.senderId,
      "clients/:id": h.alice.clientId,
      "registrants/:id": "P-1",
      "locations/:code": "ZZ",
      "registries/:registry": "social",
      "imports/:id": "1",
      ":keyId": h.alice.keyId,
      ":correlation_id": correlationId,
      ":code": code,
      ":notification_id": notificationId,
    };
    const fill = (path: string) =>
      path.replace(/([a-z-]+\/)?:(\w+)/g, (whole, parent: string | undefined, name: string) => {
        const id = ids[whole] ?? ids[`:${name}`];
        assert.ok(id, `no id for ${whole} in ${path}: add one above`);
        return `${parent ?? ""}${encodeURIComponent(id)}`;
      });
    const admin = h.app.routes.filter((r) => r.path.startsWith("/admin/v1/") && r.method !== "ALL");
    const writes = [
      ...new Set(admin.filter((r) => !READS.has(r.method)).map((r) => `${r.method} ${r.path}`)),
    ];
    const reads = [...new Set(admin.filter((r) => READS.has(r.method)).map((r) => r.path))];
    assert.ok(writes.length >= 21, `found ${writes.length} admin write routes: ${writes.join(", ")}`);
    const viewer = await adminCaller(h.app, h.deps, "viewer");
    const before = await databaseFingerprint(h.deps, ["admin_tokens"]);
    for (const route of writes) {
      const [method, path] = route.split(" ");
      const r = await viewer(method, fill(path).slice("/admin/v1".length), {});
      assert.equal(r.status, 403, `viewer ${route}: ${r.status} ${JSON.stringify(r.body)}`);
      assert.equal((r.body as Json).message.error.code, "err.request.forbidden", route);
    }
    assert.equal(
      await databaseFingerprint(h.deps, ["admin_tokens"]),
      before,
      "a viewer's writes changed nothing",
    );
    // A viewer still reads every admin resource.
    for (const path of reads) {
      const r = await viewer("GET", fill(path).slice("/admin/v1".length));
      assert.equal(r.status, 200, `viewer GET ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    }
    // The control: the same calls with an admin token are not refused for the role (they may fail otherwise).
    const root = await adminCaller(h.app, h.deps, "admin");
    for (const route of writes) {
      const [method, path] = route.split(" ");
      const r = await root(method, fill(path).slice("/admin/v1".length), {});
      assert.ok(
        r.status !== 401 && r.status !== 403,
        `admin ${route}: ${r.status} ${JSON.stringify(r.body)}`,
      );
    }
  } finally {
    h.close();
  }
});
