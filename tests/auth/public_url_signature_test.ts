/**
 * RFC 9421 behind a reverse proxy that strips a path prefix and sends its own Host (the README's nginx example,
 * `location /dci/ { proxy_pass http://127.0.0.1:8080/; }`): with DCI_PUBLIC_URL set, `@target-uri`,
 * `@authority`, `@scheme` and `@path` are those of the URL the partner used, signed with the sender SDK.
 */
import assert from "node:assert/strict";
import { withTestDeps } from "../helpers/deps.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { createApp } from "../helpers/app.ts";
import type { Deps } from "../../src/deps.ts";
import { senderKey, signRequest } from "../../sdk/mod.ts";

/** Where the proxy forwards `https://gw.example.org/dci/registry/sync/search` to (prefix stripped, its own Host). */
const INTERNAL = "http://127.0.0.1:8080/registry/sync/search";
const PUBLIC = "https://gw.example.org/dci/registry/sync/search";

const SEARCH = {
  transaction_id: "t-proxy",
  search_request: [{
    reference_id: "r1",
    timestamp: "2026-03-01T10:00:00.000Z",
    search_criteria: { query_type: "idtype-value", query: { type: "UIN", value: "none" } },
  }],
};

/** A sync search signed (RFC 9421 only, no envelope signature) over `signedUrl`, sent to the app at INTERNAL. */
async function search(deps: Deps, sender: TestSender, signedUrl: string, components: string[]) {
  const body = JSON.stringify(
    requestEnvelope(sender.senderId, SEARCH, { totalCount: 1, nowMs: deps.clock.now() }),
  );
  const pem = sender.privateKey.export({ format: "pem", type: "pkcs8" }) as string;
  const key = await senderKey(sender.senderId, sender.keyId, pem);
  const headers = await signRequest(
    { method: "POST", url: signedUrl, body, headers: { "content-type": "application/json" } },
    key,
    { components, nowMs: deps.clock.now() },
  );
  headers.set("authorization", `Bearer ${sender.token}`);
  headers.set("host", "127.0.0.1:8080");
  const res = await createApp(deps).request(INTERNAL, { method: "POST", headers, body });
  return { status: res.status, body: await res.text() };
}

const TARGET_URI = ["@method", "@target-uri", "content-digest"];
const AUTHORITY_PATH = ["@method", "@scheme", "@authority", "@path", "content-digest"];

Deno.test("authenticate() verifies RFC 9421 @target-uri, @authority and @path of DCI_PUBLIC_URL behind a prefix-stripping proxy", async () => {
  for (const publicUrl of ["https://gw.example.org/dci", "https://gw.example.org/dci/"]) {
    await withTestDeps({ publicUrl }, async (deps) => {
      const alice = await createTestSender(deps);
      for (const components of [TARGET_URI, AUTHORITY_PATH]) {
        const ok = await search(deps, alice, PUBLIC, components);
        assert.equal(ok.status, 200, `${publicUrl} ${components}: ${ok.body}`);
        // What the proxy sent on is not what the partner used: it does not verify.
        const internal = await search(deps, alice, INTERNAL, components);
        assert.equal(internal.status, 401, `${publicUrl} ${components}: ${internal.body}`);
        assert.match(internal.body, /err\.signature\.invalid/);
      }
    });
  }
});

Deno.test("authenticate() without DCI_PUBLIC_URL verifies RFC 9421 over the URL the request arrived at", async () => {
  await withTestDeps({}, async (deps) => {
    const alice = await createTestSender(deps);
    for (const components of [TARGET_URI, AUTHORITY_PATH]) {
      const ok = await search(deps, alice, INTERNAL, components);
      assert.equal(ok.status, 200, `${components}: ${ok.body}`);
      const refused = await search(deps, alice, PUBLIC, components);
      assert.equal(refused.status, 401, refused.body);
      assert.match(refused.body, /err\.signature\.invalid/);
    }
  });
});
