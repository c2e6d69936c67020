/**
 * The farmer registry's endpoints in process (createApp: every answer is checked against fr_api_v1.0.0.yaml by
 * the suite's spec hooks): signed sync search answering the demo farmer by FARMER_ID, and the ERR ACK of a
 * path the FR spec does not define.
 */
import assert from "node:assert/strict";
import { createApp } from "../helpers/app.ts";
import { createTestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { testDeps } from "../helpers/deps.ts";
import { verifyWithJwks } from "../transactions/support.ts";
import { frProfile } from "../../src/registries/fr/mod.ts";
import { TEST_FARMER_ID } from "../../src/registries/fr/demo.ts";
import { frValidator } from "./fr_jsonld.ts";
import { harness } from "../transactions/support.ts";
import { callbackErrors } from "../helpers/spec_check.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const SYNC = "/dci_api/v1/fr/registry/sync/search";

Deno.test("fr sync search: a signed search answers the demo farmer by FARMER_ID, signed, in FR vocabulary", async () => {
  const deps = await testDeps();
  try {
    const now = () => new Date(deps.clock.now()).toISOString();
    const seeded = await deps.storage.registryLoad.writeAll(
      [...frProfile.demo(30, 2)].map((raw, i) => ({ line: i + 1, raw })),
      {
        now,
        profile: frProfile,
      },
    );
    assert.equal(seeded.rejectedCount, 0);
    const app = createApp(deps);
    const alice = await createTestSender(deps);
    const jwks = await (await app.request("/.well-known/jwks.json")).json();
    const env = alice.sign(requestEnvelope(alice.senderId, {
      transaction_id: "fr-1",
      search_request: [
        {
          reference_id: "by-id",
          timestamp: now(),
          search_criteria: {
            reg_type: "ns:org:RegistryType:FR",
            reg_record_type: "Farmer",
            query_type: "idtype-value",
            query: { type: "FARMER_ID", value: TEST_FARMER_ID },
          },
        },
        {
          reference_id: "poultry",
          timestamp: now(),
          search_criteria: {
            query_type: "predicate",
            query: [{
              expression1: { attribute_name: "livestock_type", operator: "eq", attribute_value: "poultry" },
              condition: "and",
              expression2: { attribute_name: "land_size", operator: "le", attribute_value: 5 },
            }],
            pagination: { page_size: 50, page_number: 1 },
          },
        },
      ],
    }, { totalCount: 2, nowMs: deps.clock.now() }));
    const res = await app.request(SYNC, {
      method: "POST",
      headers: { "content-type": "application/json", ...alice.headers() },
      body: JSON.stringify(env),
    });
    const body = await res.json() as Json;
    assert.equal(res.status, 200, JSON.stringify(body));
    assert.ok(verifyWithJwks(body, jwks, deps.clock.now()), "answer signed with the server key");
    assert.equal(body.header.action, "on-search");
    assert.equal(body.header.status, "succ");
    const [byId, poultry] = body.message.search_response;
    assert.equal(byId.data.reg_type, "ns:org:RegistryType:FR");
    assert.equal(byId.data.reg_record_type, "Farmer");
    assert.deepEqual(byId.data.reg_records.map((r: Json) => r["@id"]), ["FR-TEST-001"]);
    assert.deepEqual(frValidator.validate(byId.data.reg_records[0], "Farmer"), []);
    assert.ok(poultry.data.reg_records.length > 0);
    for (const r of poultry.data.reg_records) assert.deepEqual(frValidator.validate(r, "Farmer"), []);
  } finally {
    deps.close();
  }
});

Deno.test("fr async search: ACK, then a signed on-search callback with the demo farmer; txn status finds it", async () => {
  const h = await harness();
  try {
    const now = () => new Date(h.deps.clock.now()).toISOString();
    await h.deps.storage.registryLoad.writeAll(
      [...frProfile.demo(5, 2)].map((raw, i) => ({ line: i + 1, raw })),
      {
        now,
        profile: frProfile,
      },
    );
    const ack = await h.post("/dci_api/v1/fr/registry/search", {
      transaction_id: "fr-async",
      search_request: [{
        reference_id: "r1",
        timestamp: now(),
        search_criteria: { query_type: "idtype-value", query: { type: "FARMER_ID", value: TEST_FARMER_ID } },
      }],
    });
    assert.equal(ack.status, 202, JSON.stringify(ack.body));
    assert.equal((ack.body.message as Json).ack_status, "ACK");
    await h.drain();
    const [callback] = h.http.sent.filter((s) => s.url.endsWith("/registry/on-search")).map((s) =>
      s.body as Json
    );
    assert.deepEqual(callbackErrors(callback, { path: "/registry/on-search", registry: "fr" }), []);
    assert.ok(verifyWithJwks(callback, await h.deps.keys.jwks() as never, h.deps.clock.now()));
    const [answer] = callback.message.search_response;
    assert.equal(answer.data.reg_type, "ns:org:RegistryType:FR");
    assert.deepEqual(answer.data.reg_records.map((r: Json) => r["@id"]), ["FR-TEST-001"]);
    assert.deepEqual(frValidator.validate(answer.data.reg_records[0], "Farmer"), []);
    const status = await h.post("/dci_api/v1/fr/registry/sync/txn/status", {
      transaction_id: "fr-status",
      txnstatus_request: {
        reference_id: "q1",
        txn_type: "search",
        attribute_type: "transaction_id",
        attribute_value: "fr-async",
      },
    }, { action: "txn-status" });
    assert.equal(status.status, 200, JSON.stringify(status.body));
    const txn = (status.body.message as Json).txnstatus_response.txn_status;
    assert.deepEqual(txn.search_response[0].data.reg_records.map((r: Json) => r["@id"]), ["FR-TEST-001"]);
  } finally {
    h.close();
  }
});
