/**
 * DCI_REGISTRIES and DCI_DEFAULT_REGISTRY: which registries are served, what the prefix-less paths serve, and the
 * 404 ERR ACK of a registry not served (and of an action a registry's spec does not define).
 */
import assert from "node:assert/strict";
import { ConfigError, testConfig } from "../../src/config.ts";
import { servedRegistries } from "../../src/actions/registries.ts";
import { harness, type Json } from "../transactions/support.ts";
import { runCliProcess } from "../helpers/server.ts";
import { testActionProfile } from "./test_action_profile.ts";

Deno.test("servedRegistries() serves DCI_REGISTRIES in order, with the default among them", () => {
  const r = servedRegistries(testConfig({ registries: "crvs,social", defaultRegistry: "crvs" }));
  assert.deepEqual(r.served.map((p) => p.name), ["crvs", "social"]);
  assert.equal(r.default.name, "crvs");
  assert.deepEqual(r.unserved.map((p) => p.name).sort(), ["dr", "fr", "ibr"]);
  const all = servedRegistries(testConfig());
  assert.equal(testConfig().registries.join(), "all");
  assert.deepEqual(all.served.map((p) => p.name), ["social", "crvs", "fr", "dr", "ibr"], "default: all five");
  assert.equal(all.default.name, "social");
  assert.deepEqual(all.unserved, []);
  const withExtra = servedRegistries(testConfig({ registries: "all" }), [testActionProfile().profile]);
  assert.deepEqual(withExtra.served.map((p) => p.name), ["social", "crvs", "fr", "dr", "ibr", "testreg"]);
});

Deno.test("servedRegistries() refuses unknown registries naming them, and a default that is not served", () => {
  assert.throws(
    () => servedRegistries(testConfig({ registries: "social,farmers,cvrs" })),
    (e: Error) =>
      e instanceof ConfigError && /"farmers", "cvrs"/.test(e.message) && /social, crvs/.test(e.message),
  );
  assert.throws(
    () => servedRegistries(testConfig({ registries: "crvs,fr" })),
    (e: Error) => e instanceof ConfigError && /DCI_DEFAULT_REGISTRY "social" is not served/.test(e.message),
  );
  assert.throws(() => testConfig({ registries: "Social!" }), /DCI_REGISTRIES/);
  assert.throws(() => testConfig({ registries: "" }), /DCI_REGISTRIES/);
  // A deployment's extra registry is served beside those DCI_REGISTRIES names.
  const extra = servedRegistries(testConfig({ registries: "social" }), [testActionProfile().profile]);
  assert.deepEqual(extra.served.map((p) => p.name), ["social", "testreg"]);
});

Deno.test("serve refuses to start with an unknown registry in DCI_REGISTRIES, naming it", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "dci-registries-" });
  try {
    const out = await runCliProcess(["serve"], {
      DCI_DATA_DIR: dataDir,
      DCI_PORT: "0",
      DCI_REGISTRIES: "social,crvs,nosuch",
    });
    assert.notEqual(out.code, 0);
    assert.match(out.stderr, /"nosuch"/);
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});

Deno.test("a registry not served answers 404 with the ERR ACK on all its paths", async () => {
  const h = await harness({ registries: "social", outboundAllow: "127.0.0.1" });
  try {
    for (
      const path of ["/sync/search", "/search", "/subscribe", "/unsubscribe", "/txn/status", "/sync/receipt"]
    ) {
      const res = await h.post(`/dci_api/v1/crvs/registry${path}`, { transaction_id: "t1" });
      assert.equal(res.status, 404, path);
      const body = res.body as Json;
      assert.equal(body.message.ack_status, "ERR");
      assert.equal(body.message.error.code, "err.request.not_found");
      assert.match(body.message.error.message, /crvs registry is not served/);
    }
    const get = await h.app.request("/dci_api/v1/fr/registry");
    assert.equal(get.status, 404);
    // The served one still answers.
    const social = await h.post("/dci_api/v1/social/registry/sync/txn/status", {
      transaction_id: "t2",
      txnstatus_request: {
        reference_id: "r",
        txn_type: "search",
        attribute_type: "transaction_id",
        attribute_value: "x",
      },
    }, { action: "txn-status" });
    assert.equal(social.status, 200);
    // The OpenAPI document lists only served registries.
    const doc = await (await h.app.request("/dci_api/v1/openapi.json")).json();
    assert.ok(doc.paths["/dci_api/v1/social/registry/sync/search"]);
    assert.equal(doc.paths["/dci_api/v1/crvs/registry/sync/search"], undefined);
  } finally {
    h.close();
  }
});

Deno.test("the prefix-less paths serve DCI_DEFAULT_REGISTRY", async () => {
  const h = await harness({ defaultRegistry: "crvs" });
  try {
    const registryOf = (correlationId: string) =>
      (h.deps.db.prepare("SELECT registry FROM transactions WHERE correlation_id = ?").get(correlationId) as {
        registry: string;
      }).registry;
    const search = await h.post("/registry/search", {
      transaction_id: "t-short",
      search_request: [{ reference_id: "r1", timestamp: new Date().toISOString(), search_criteria: {} }],
    });
    assert.equal(search.status, 202);
    assert.equal(registryOf((search.body as Json).message.correlation_id), "crvs");
    const long = await h.post("/dci_api/v1/registry/search", {
      transaction_id: "t-long",
      search_request: [{ reference_id: "r1", timestamp: new Date().toISOString(), search_criteria: {} }],
    });
    assert.equal(registryOf((long.body as Json).message.correlation_id), "crvs");
    const social = await h.post("/dci_api/v1/social/registry/search", {
      transaction_id: "t-social",
      search_request: [{ reference_id: "r1", timestamp: new Date().toISOString(), search_criteria: {} }],
    });
    assert.equal(registryOf((social.body as Json).message.correlation_id), "social");
  } finally {
    h.close();
  }
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
