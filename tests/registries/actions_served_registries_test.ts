/**
 * DCI_REGISTRIES and DCI_DEFAULT_REGISTRY: which registries are served, what the prefix-less paths serve, and the
 * 404 ERR ACK of a registry not served (and of an action a registry's spec does not define). Test registries are
 * registered for the purpose: only social is relied on to be built in, except by the DR test.
 */
import assert from "node:assert/strict";
import { ConfigError, testConfig } from "../../src/config.ts";
import { servedRegistries } from "../../src/actions/registries.ts";
import { registerProfile, registryProfiles } from "../../src/registries/index.ts";
import { harness, type Json } from "../transactions/support.ts";
import { runCliProcess } from "../helpers/server.ts";
import { testActionProfile } from "./test_action_profile.ts";

/** Registers test registries for the length of `fn`. */
async function withRegistries<T>(names: string[], fn: () => T | Promise<T>): Promise<T> {
  const undo = names.map((n) => registerProfile(testActionProfile(n).profile));
  try {
    return await fn();
  } finally {
    for (const u of undo) u();
  }
}

const searchItems = () => [{ reference_id: "r1", timestamp: new Date().toISOString(), search_criteria: {} }];

Deno.test("servedRegistries() serves DCI_REGISTRIES in order, with the default among them", async () => {
  await withRegistries(["alpha", "beta"], () => {
    const r = servedRegistries(testConfig({ registries: "beta,social", defaultRegistry: "beta" }));
    assert.deepEqual(r.served.map((p) => p.name), ["beta", "social"]);
    assert.equal(r.default.name, "beta");
    assert.ok(r.unserved.some((p) => p.name === "alpha"));
    assert.ok(!r.unserved.some((p) => p.name === "social" || p.name === "beta"));
    // The default, all: every registry this binary has, social (the default registry) first.
    assert.equal(testConfig().registries.join(), "all");
    const all = servedRegistries(testConfig());
    assert.deepEqual(all.served.map((p) => p.name), registryProfiles().map((p) => p.name));
    assert.equal(all.served[0].name, "social");
    assert.equal(all.default.name, "social");
    assert.deepEqual(all.unserved, []);
    // A deployment's extra registry is served beside those DCI_REGISTRIES names.
    const extra = servedRegistries(testConfig({ registries: "social" }), [
      testActionProfile("gamma").profile,
    ]);
    assert.deepEqual(extra.served.map((p) => p.name), ["social", "gamma"]);
  });
});

Deno.test("servedRegistries() refuses unknown registries naming them, and a default that is not served", () => {
  assert.throws(
    () => servedRegistries(testConfig({ registries: "social,farmers,cvrs" })),
    (e: Error) =>
      e instanceof ConfigError && /"farmers", "cvrs"/.test(e.message) && /it has social/.test(e.message),
  );
  assert.throws(
    () => servedRegistries(testConfig({ registries: "testreg" }), [testActionProfile().profile]),
    (e: Error) => e instanceof ConfigError && /DCI_DEFAULT_REGISTRY "social" is not served/.test(e.message),
  );
  assert.throws(() => testConfig({ registries: "Social!" }), /DCI_REGISTRIES/);
  assert.throws(() => testConfig({ registries: "" }), /DCI_REGISTRIES/);
});

Deno.test("serve refuses to start with an unknown registry in DCI_REGISTRIES, naming it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-registries-" });
  try {
    const out = await runCliProcess(["serve"], {
      DCI_DATA_DIR: dataDir,
      DCI_PORT: "0",
      DCI_REGISTRIES: "social,nosuch",
    });
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /"nosuch"/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a registry not served answers 404 with the ERR ACK on all its paths", async () => {
  await withRegistries(["alpha"], async () => {
    const h = await harness({ registries: "social", outboundAllow: "127.0.0.1" });
    try {
      for (
        const path of ["/sync/search", "/search", "/subscribe", "/txn/status", "/sync/receipt", "/sync/ping"]
      ) {
        const res = await h.post(`/dci_api/v1/alpha/registry${path}`, { transaction_id: "t1" });
        assert.equal(res.status, 404, path);
        const body = res.body as Json;
        assert.equal(body.message.ack_status, "ERR");
        assert.equal(body.message.error.code, "err.request.not_found");
        assert.match(body.message.error.message, /alpha registry is not served/);
      }
      assert.equal((await h.app.request("/dci_api/v1/alpha/registry")).status, 404);
      // The served one still answers.
      const social = await h.post("/dci_api/v1/social/registry/search", {
        transaction_id: "t2",
        search_request: searchItems(),
      });
      assert.equal(social.status, 202);
      // The OpenAPI document lists only served registries.
      const doc = await (await h.app.request("/dci_api/v1/openapi.json")).json();
      assert.ok(doc.paths["/dci_api/v1/social/registry/sync/search"]);
      assert.equal(doc.paths["/dci_api/v1/alpha/registry/sync/ping"], undefined);
    } finally {
      h.close();
    }
  });
});

Deno.test("the prefix-less paths serve DCI_DEFAULT_REGISTRY", async () => {
  await withRegistries(["alpha"], async () => {
    const h = await harness({ defaultRegistry: "alpha" });
    try {
      const registryOf = async (r: { body: Json }) =>
        (await h.deps.storage.transactions.getByCorrelationId(r.body.message.correlation_id))?.registry;
      const short = await h.post("/registry/search", {
        transaction_id: "t-short",
        search_request: searchItems(),
      });
      assert.equal(short.status, 202);
      assert.equal(await registryOf(short), "alpha");
      const long = await h.post("/dci_api/v1/registry/search", {
        transaction_id: "t-long",
        search_request: searchItems(),
      });
      assert.equal(await registryOf(long), "alpha");
      const social = await h.post("/dci_api/v1/social/registry/search", {
        transaction_id: "t-social",
        search_request: searchItems(),
      });
      assert.equal(await registryOf(social), "social");
      // An action the default registry does not define is 404 at the prefix-less paths too.
      assert.equal((await h.post("/registry/subscribe", { transaction_id: "t-sub" })).status, 404);
    } finally {
      h.close();
    }
  });
});

Deno.test("DR's txn status paths answer 404 with the ERR ACK (its spec defines none)", async () => {
  const h = await harness();
  try {
    const message = {
      transaction_id: "t-dr",
      txnstatus_request: {
        reference_id: "r",
        txn_type: "search",
        attribute_type: "transaction_id",
        attribute_value: "x",
      },
    };
    for (const path of ["/sync/txn/status", "/txn/status"]) {
      const res = await h.post(`/dci_api/v1/dr/registry${path}`, message, { action: "txn-status" });
      assert.equal(res.status, 404, path);
      assert.equal((res.body as Json).message.error.code, "err.request.not_found");
      assert.match((res.body as Json).message.error.message, /dr registry's spec defines no txn-status/);
    }
    const doc = await (await h.app.request("/dci_api/v1/openapi.json")).json();
    assert.equal(doc.paths["/dci_api/v1/dr/registry/sync/txn/status"], undefined);
    const tag = doc.tags.find((t: Json) => t.name === "dr registry");
    assert.match(tag.description, /no txn-status: those paths answer 404/);
  } finally {
    h.close();
  }
});
