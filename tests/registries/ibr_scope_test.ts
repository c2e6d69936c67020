/** The IBR write scope: `registry.enrollment` exists, and a client holds it only when asked for. */
import assert from "node:assert/strict";
import { DEFAULT_SCOPES, parseScopes, SCOPES } from "../../src/senders/clients.ts";
import { ibrProfile } from "../../src/registries/ibr/index.ts";

Deno.test("registry.enrollment: a known scope, not among the defaults; the IBR update endpoint requires it", () => {
  assert.ok((SCOPES as readonly string[]).includes("registry.enrollment"));
  assert.deepEqual(parseScopes(undefined), [...DEFAULT_SCOPES]);
  assert.equal(parseScopes(undefined).includes("registry.enrollment"), false);
  assert.throws(() => parseScopes([]), /name at least one scope/);
  assert.deepEqual(parseScopes(["registry.search", "registry.enrollment"]), [
    "registry.search",
    "registry.enrollment",
  ]);
  assert.throws(() => parseScopes(["registry.write"]), /scope "registry.write" is unknown/);
  const scopes = Object.fromEntries(ibrProfile.actions.map((a) => [a.path, a.scope]));
  assert.deepEqual(scopes, {
    "/sync/enrolled": "registry.search",
    "/sync/enrollment/updates": "registry.enrollment",
  });
});
