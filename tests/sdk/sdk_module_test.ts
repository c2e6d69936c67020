/**
 * The SDK as partners get it: its JWKS cache against the server's real key store served on loopback, its
 * imports (nothing outside sdk/), and the committed Node build (sdk/dist) being what scripts/build_sdk.ts makes.
 */
import assert from "node:assert/strict";
import * as sdk from "../../sdk/mod.ts";
import { signedEnvelope } from "../../src/dci/envelope.ts";
import { buildSdk } from "../../scripts/build_sdk.ts";
import { testDeps } from "../helpers/deps.ts";

const SDK_DIR = new URL("../../sdk/", import.meta.url).pathname;

Deno.test("sdk ServerKeys verifies the server's answers from its JWKS and fetches it again for a new kid, at most once per minRefetchSeconds", async () => {
  const deps = await testDeps();
  const jwks = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    async () => Response.json(await deps.keys.jwks()),
  );
  try {
    const jwksUrl = `http://127.0.0.1:${jwks.addr.port}/.well-known/jwks.json`;
    const keys = new sdk.ServerKeys({ jwksUrl, serverId: "dci-server", now: () => deps.clock.now() });
    const answer = () =>
      JSON.stringify(
        signedEnvelope(deps, { action: "on-search", status: "succ", totalCount: 1, completedCount: 1 }, {
          transaction_id: "t1",
          note: "ünïcode",
        }),
      );
    const first = await keys.verifyText(answer());
    assert.equal(first.ok, true, JSON.stringify(first));
    assert.equal(keys.fetched, 1);
    const tampered = answer().replace("t1", "t2");
    assert.deepEqual(await keys.verifyText(tampered), { ok: false, reason: "mismatch" });
    assert.equal(keys.fetched, 1, "a known kid is served from the cache");

    await deps.keys.rotate("rsa-sha256", { now: true });
    deps.clock.advance(1_001); // the server re-reads its active key at most once a second
    const rotated = answer();
    assert.match(rotated, /\|rsa-sha256/);
    assert.deepEqual(await keys.verifyText(rotated), { ok: false, reason: "unknown_key" });
    assert.equal(keys.fetched, 1, "no refetch within minRefetchSeconds of the last fetch");
    deps.clock.advance(30_000);
    const later = await keys.verifyText(answer());
    assert.equal(later.ok, true, JSON.stringify(later));
    assert.equal(keys.fetched, 2);

    const other = new sdk.ServerKeys({ jwksUrl, serverId: "another-server", now: () => deps.clock.now() });
    assert.deepEqual(await other.verifyText(answer()), { ok: false, reason: "other_server" });
    assert.deepEqual(await keys.verifyText("not json"), { ok: false, reason: "not_json" });
  } finally {
    await jwks.shutdown();
    deps.close();
  }
});

async function* files(dir: string): AsyncGenerator<string> {
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}${e.name}`;
    if (e.isDirectory) yield* files(`${path}/`);
    else yield path;
  }
}

Deno.test("sdk imports nothing outside sdk/: only relative modules inside it (and node: built-ins in Node examples)", async () => {
  let checked = 0;
  for await (const path of files(SDK_DIR)) {
    if (!/\.(ts|mjs|js)$/.test(path) || path.endsWith(".d.ts")) continue;
    const text = await Deno.readTextFile(path);
    for (const m of text.matchAll(/(?:^|\n)\s*(?:import|export)[^;]*?from\s+"([^"]+)"/g)) {
      const spec = m[1];
      if (spec.startsWith("node:") && path.endsWith(".mjs")) continue;
      assert.match(spec, /^\.\.?\//, `${path} imports ${spec}`);
      const target = new URL(spec, `file://${path}`).pathname;
      assert.ok(target.startsWith(SDK_DIR), `${path} imports ${spec}, outside sdk/`);
      checked++;
    }
  }
  assert.ok(checked >= 10, `only ${checked} imports seen`);
});

Deno.test("sdk/dist (the Node build) is what scripts/build_sdk.ts builds from sdk/mod.ts today", async () => {
  const out = await Deno.makeTempDir({ prefix: "dci-sdk-build-" });
  try {
    await buildSdk(out);
    for (const name of ["dci.js", "dci.d.ts"]) {
      assert.equal(
        await Deno.readTextFile(`${out}/${name}`),
        await Deno.readTextFile(`${SDK_DIR}dist/${name}`),
        `sdk/dist/${name} is stale: run deno task sdk:build`,
      );
    }
  } finally {
    await Deno.remove(out, { recursive: true });
  }
});
