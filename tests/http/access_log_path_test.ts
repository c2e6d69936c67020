/**
 * The access line's path: a registrant's id in an admin or console path is written `:id` (personal data: a national
 * id does not belong in stdout), every other segment as sent; a path is cut at 256 characters.
 */
import assert from "node:assert/strict";
import { loggedPath } from "../../src/http/middleware.ts";
import { createLogger } from "../../src/obs/log.ts";
import { createApp } from "../helpers/app.ts";
import { fixtureDeps } from "../registry/fixture.ts";

Deno.test("loggedPath() writes a registrant's id as :id and keeps the other segments", () => {
  const cases: Array<[string, string, string]> = [
    ["/admin/v1/registrants/:id", "/admin/v1/registrants/PH-123", "/admin/v1/registrants/:id"],
    [
      "/admin/v1/registries/:registry/registrants/:id",
      "/admin/v1/registries/crvs/registrants/BRN%2F7",
      "/admin/v1/registries/crvs/registrants/:id",
    ],
    [
      "/console/registry/:registry/records/:id",
      "/console/registry/fr/records/F-9",
      "/console/registry/fr/records/:id",
    ],
    // Not a registrant: kept.
    ["/admin/v1/senders/:id", "/admin/v1/senders/partner-a", "/admin/v1/senders/partner-a"],
    ["/console/senders/:id", "/console/senders/partner-a", "/console/senders/partner-a"],
    // Segments that do not line up: the pattern alone.
    ["/admin/v1/registrants/:id", "/admin/v1/registrants/PH-123/", "/admin/v1/registrants/:id"],
  ];
  for (const [route, path, logged] of cases) assert.equal(loggedPath(route, path), logged, path);
  const long = loggedPath("unmatched", `/${"a".repeat(400)}`);
  assert.equal(long.length, 257);
  assert.ok(long.endsWith("…"));
});

Deno.test("the access line of an admin registrant read names no registrant id", async () => {
  const deps = await fixtureDeps();
  const lines: Array<Record<string, unknown>> = [];
  deps.log = createLogger("info", { sink: (l) => lines.push(JSON.parse(l)) });
  try {
    const app = createApp(deps);
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    for (const path of ["/admin/v1/registrants/P4", "/admin/v1/registries/social/registrants/P4"]) {
      const res = await app.request(path, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, path);
      await res.body?.cancel();
    }
    const paths = lines.filter((l) => l.msg === "request").map((l) => l.path);
    assert.deepEqual(paths, ["/admin/v1/registrants/:id", "/admin/v1/registries/social/registrants/:id"]);
    assert.equal(lines.some((l) => JSON.stringify(l).includes("P4")), false);
  } finally {
    deps.close();
  }
});
