/**
 * The access line's path: a registrant's id in an admin or console path is written `:id` (personal data: a national
 * id does not belong in stdout), every other segment as sent; a path is cut at 256 characters.
 */
import assert from "node:assert/strict";
import { loggedPath } from "../../src/http/logged_path.ts";
import { createLogger } from "../../src/obs/log.ts";
import { createApp } from "../helpers/app.ts";
import { fixtureDeps } from "../registry/fixture.ts";

Deno.test("loggedPath() writes a registrant's id as :id and keeps the other segments", () => {
  const cases: Array<[string, string]> = [
    ["/admin/v1/registrants/PH-123", "/admin/v1/registrants/:id"],
    ["/admin/v1/registries/crvs/registrants/BRN%2F7", "/admin/v1/registries/crvs/registrants/:id"],
    ["/console/registry/fr/records/F-9", "/console/registry/fr/records/:id"],
    // Whatever follows the id, and whatever case the path is sent in (answered 404, still the id).
    ["/admin/v1/registrants/PH-123/", "/admin/v1/registrants/:id/"],
    ["/admin/v1/registrants/PH-123/x/y", "/admin/v1/registrants/:id/x/y"],
    ["/Admin/V1/Registrants/PH-123", "/Admin/V1/Registrants/:id"],
    ["//admin/v1//registrants//PH-123", "//admin/v1//registrants//:id"],
    // Not a registrant: kept.
    ["/admin/v1/registrants", "/admin/v1/registrants"],
    ["/admin/v1/senders/partner-a", "/admin/v1/senders/partner-a"],
    ["/console/senders/partner-a", "/console/senders/partner-a"],
    ["/console/registry/fr/records", "/console/registry/fr/records"],
  ];
  for (const [path, logged] of cases) assert.equal(loggedPath(path), logged, path);
  const long = loggedPath(`/${"a".repeat(400)}`);
  assert.equal(long.length, 257);
  assert.ok(long.endsWith("…"));
});

/** Runs `fn` with the fixture's app, the log lines it writes, and an admin token. */
async function withLoggedApp(
  fn: (
    app: ReturnType<typeof createApp>,
    lines: Array<Record<string, unknown>>,
    token: string,
  ) => Promise<void>,
): Promise<void> {
  const deps = await fixtureDeps();
  const lines: Array<Record<string, unknown>> = [];
  deps.log = createLogger("info", { sink: (l) => lines.push(JSON.parse(l)) });
  try {
    const { token } = await deps.storage.adminTokens.create({ role: "admin" });
    await fn(createApp(deps), lines, token);
  } finally {
    deps.close();
  }
}

Deno.test("the access line of an admin registrant read names no registrant id", async () => {
  await withLoggedApp(async (app, lines, token) => {
    for (const path of ["/admin/v1/registrants/P4", "/admin/v1/registries/social/registrants/P4"]) {
      const res = await app.request(path, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 200, path);
      await res.body?.cancel();
    }
    const paths = lines.filter((l) => l.msg === "request").map((l) => l.path);
    assert.deepEqual(paths, ["/admin/v1/registrants/:id", "/admin/v1/registries/social/registrants/:id"]);
    assert.equal(lines.some((l) => JSON.stringify(l).includes("P4")), false);
  });
});

Deno.test("a request refused before its registrant route's handler, or for an unknown registrant, logs no id", async () => {
  await withLoggedApp(async (app, lines, token) => {
    const auth = { authorization: `Bearer ${token}` };
    const get = (headers: Record<string, string> = {}): RequestInit => ({ headers });
    const cases: Array<[string, RequestInit, number]> = [
      // No admin token: refused by the admin API's middleware, whose pattern is the route.
      ["/admin/v1/registrants/NID-SECRET-1", get(), 401],
      // An id no registrant has: its 404 names it to the caller, not to the log.
      ["/admin/v1/registries/social/registrants/NID-SECRET-2", get(auth), 404],
      // No route below a registrant.
      ["/admin/v1/registrants/NID-SECRET-3/nothing", get(auth), 404],
      // A new registrant refused: its message names the identifier value another registrant has.
      ["/admin/v1/registrants", {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify({
          id: "NID-SECRET-5",
          identifier: [{ identifier_type: "UIN", identifier_value: "U-4" }],
          name: { given_name: "Ama", surname: "Owusu" },
        }),
      }, 409],
      // The console without a session: sent to its login page.
      ["/console/registry/social/records/NID-SECRET-4", get(), 303],
    ];
    for (const [path, init, status] of cases) {
      const res = await app.request(path, init);
      assert.equal(res.status, status, `${path}: ${await res.text()}`);
    }
    const requests = lines.filter((l) => l.msg === "request");
    assert.deepEqual(requests.map((l) => [l.path, l.status]), [
      ["/admin/v1/registrants/:id", 401],
      ["/admin/v1/registries/social/registrants/:id", 404],
      ["/admin/v1/registrants/:id/nothing", 404],
      ["/admin/v1/registrants", 409],
      ["/console/registry/social/records/:id", 303],
    ]);
    // The refusal's code is kept for a partner quoting the request id; its message, which may name the id, not.
    assert.equal(requests[1].error_code, "err.request.not_found");
    assert.deepEqual(requests.map((l) => l.error), requests.map(() => undefined));
    assert.equal(/NID-SECRET|U-4/.test(JSON.stringify(lines)), false, JSON.stringify(lines));
  });
});
