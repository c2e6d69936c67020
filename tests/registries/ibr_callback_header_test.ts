/**
 * `sync/enrollment/updates` takes the header its yaml gives it, MsgCallbackHeader_V1.0.0 (required: message_id,
 * message_ts, action, status): total_count may be left out (then it is the number of beneficiaries). Every other
 * endpoint keeps the request header, whose total_count is required.
 */
import assert from "node:assert/strict";
import { harness } from "../transactions/support.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { assertSpecAnswer } from "../helpers/spec_check.ts";
import { specErrors } from "../helpers/spec_validator.ts";
import { ibrProfile } from "../../src/registries/ibr/index.ts";
import { ENROLLMENT_UPDATES_ACTION } from "../../src/registries/ibr/actions.ts";
import { testEnrolmentUpdate } from "./ibr_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const BASE = "/dci_api/v1/ibr/registry";

type H = Awaited<ReturnType<typeof harness>>;

/** POSTs `message` signed, with the header `header` makes of the request header (total_count left out). */
async function post(h: H, sender: TestSender, path: string, message: Json, header: (h: Json) => Json) {
  const env = requestEnvelope(sender.senderId, message, { action: "notify", nowMs: h.deps.clock.now() });
  delete (env.header as Json).total_count;
  env.header = header(env.header);
  const res = await h.app.request(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...sender.headers() },
    body: JSON.stringify(sender.sign(env, h.deps.clock.now())),
  });
  const body = await res.json();
  assertSpecAnswer(`${BASE}${path}`, res.status, body);
  return { status: res.status, body };
}

const UPDATE = testEnrolmentUpdate("t-cb", "Suspended");

Deno.test("sync/enrollment/updates takes the yaml's MsgCallbackHeader without total_count; other endpoints still require it", async () => {
  const h = await harness();
  try {
    const now = () => new Date(h.deps.clock.now()).toISOString();
    const source = [...ibrProfile.demo(0, 1)].map((raw, i) => ({ line: i + 1, raw }));
    await h.deps.storage.registryLoad.writeAll(source, { now, profile: ibrProfile });
    const sp = await createTestSender(h.deps, { scopes: ["registry.search", "registry.enrollment"] });
    // The yaml's header: message_id, message_ts, action, status (+ sender_id, which identifies the signer).
    const spec = (header: Json) => ({
      message_id: header.message_id,
      message_ts: header.message_ts,
      action: "notify",
      status: "succ",
      sender_id: header.sender_id,
    });
    const ok = await post(h, sp, "/sync/enrollment/updates", UPDATE, (header) => {
      assert.deepEqual(specErrors("ibr", "/components/schemas/MsgCallbackHeader_V1.0.0", spec(header)), []);
      return spec(header);
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.deepEqual(ok.body.message.enrolled_response.map((i: Json) => i.status), ["succ"]);
    assert.equal(ok.body.header.total_count, 1);
    const stored = await h.deps.storage.registry.get("IBR-TEST-001", "ibr");
    assert.equal((stored?.details as Json).enrolments[0].enrollment_status, "Suspended");

    // Not loosened elsewhere: sync/enrolled and search without total_count are refused as before.
    const enrolled = await post(h, sp, "/sync/enrolled", {
      transaction_id: "t-e",
      enrolled_criteria: { query: { person_identifier: { eq: "ABC451123" } } },
    }, (header) => ({ ...header, action: "search" }));
    assert.equal(enrolled.status, 400, JSON.stringify(enrolled.body));
    assert.match(JSON.stringify(enrolled.body), /total_count/);
    const search = await post(h, sp, "/sync/search", {
      transaction_id: "t-s",
      search_request: [{
        reference_id: "r1",
        timestamp: "2026-01-01T00:00:00Z",
        search_criteria: { query_type: "idtype-value", query: { type: "NID", value: "ABC451123" } },
      }],
    }, (header) => ({ ...header, action: "search" }));
    assert.equal(search.status, 400, JSON.stringify(search.body));
    assert.match(JSON.stringify(search.body), /total_count/);
  } finally {
    h.close();
  }
});

Deno.test("the OpenAPI document: only sync/enrollment/updates' header leaves total_count optional", async () => {
  const h = await harness();
  try {
    const doc = await (await h.app.request("/dci_api/v1/openapi.json")).json();
    const schemas = doc.components.schemas;
    const headerOf = (envelope: string) => {
      const ref = schemas[envelope].properties.header.$ref as string;
      return schemas[ref.split("/").pop()!];
    };
    assert.equal(headerOf("IbrSyncEnrollmentUpdatesRequestEnvelope").required.includes("total_count"), false);
    assert.ok(headerOf("IbrSyncEnrolledRequestEnvelope").required.includes("total_count"));
    assert.ok(schemas.MsgHeader.required.includes("total_count"));
  } finally {
    h.close();
  }
});

Deno.test("ENROLLMENT_UPDATES_ACTION counts the beneficiaries, the total_count a callback header leaves out", () => {
  const message = ENROLLMENT_UPDATES_ACTION.request.parse({
    transaction_id: "t",
    receipt_information: { beneficiaries: [{ member: {} }, { member: {} }] },
  }) as Json;
  assert.equal(ENROLLMENT_UPDATES_ACTION.callbackHeader.itemCount(message), 2);
});
