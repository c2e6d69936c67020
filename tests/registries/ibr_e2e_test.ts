/**
 * The IBR registry over HTTP, signed, through the real routes (createApp): sync search answers each demo record by
 * its identifier, async search calls back, subscribe + notify, sync/enrolled, sync/enrollment/updates (its own
 * scope) and a header-level refusal, every answer and callback validated against ibr_api_v1.0.0.yaml.
 */
import assert from "node:assert/strict";
import { harness } from "../transactions/support.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { assertSpecAnswer } from "../helpers/spec_check.ts";
import { ibrProfile } from "../../src/registries/ibr/index.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { testEnrolmentUpdate } from "./ibr_fixture.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const BASE = "/dci_api/v1/ibr/registry";
const TS = "2026-01-01T00:00:00Z";

async function ibrHarness() {
  const h = await harness();
  const now = () => new Date(h.deps.clock.now()).toISOString();
  const source = [...ibrProfile.demo(60, 2)].map((raw, i) => ({ line: i + 1, raw }));
  const report = await h.deps.storage.registryLoad.writeAll(source, { now, profile: ibrProfile });
  assert.equal(report.rejectedCount, 0);
  return h;
}

type H = Awaited<ReturnType<typeof ibrHarness>>;

async function post(
  h: H,
  path: string,
  message: Json,
  o: { sender?: TestSender; action: string; total: number; header?: Json },
) {
  const sender = o.sender ?? h.alice;
  const env = requestEnvelope(sender.senderId, message, {
    action: o.action,
    nowMs: h.deps.clock.now(),
    totalCount: o.total,
    header: { sender_uri: "https://alice.example/cb", ...(o.header ?? {}) },
  });
  const res = await h.app.request(`${BASE}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...sender.headers() },
    body: JSON.stringify(sender.sign(env, h.deps.clock.now())),
  });
  const body = await res.json();
  assertSpecAnswer(`${BASE}${path}`, res.status, body);
  return { status: res.status, body };
}

function byId(type: string, value: string, recordType?: string): Json {
  return {
    reference_id: `${type}-${value}`.slice(0, 99),
    timestamp: TS,
    search_criteria: {
      reg_type: "ns:org:RegistryType:IBR",
      ...(recordType ? { reg_record_type: recordType } : {}),
      query_type: "idtype-value",
      query: { type, value },
    },
  };
}

Deno.test("IBR over HTTP: signed sync search answers every demo record by its identifier", async () => {
  const h = await ibrHarness();
  try {
    const records = [...ibrProfile.demo(60, 2)] as Json[];
    for (let i = 0; i < records.length; i += 10) {
      const batch = records.slice(i, i + 10);
      const items = batch.map((r) => {
        const id = (r.identifier ?? r.group_identifier)[0];
        return byId(
          id.identifier_type,
          id.identifier_value,
          r.record_type === "Beneficiary" ? undefined : r.record_type,
        );
      });
      const res = await post(h, "/sync/search", { transaction_id: `t-${i}`, search_request: items }, {
        action: "search",
        total: items.length,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const answers = res.body.message.search_response as Json[];
      assert.deepEqual(
        answers.map((a) => a.data?.reg_records?.map((x: Json) => x["@id"])),
        batch.map((r) => [r.id]),
      );
    }
  } finally {
    h.close();
  }
});

Deno.test("IBR over HTTP: async search is ACKed and its signed on-search callback carries the beneficiary", async () => {
  const h = await ibrHarness();
  try {
    const res = await post(h, "/search", {
      transaction_id: "t-async",
      search_request: [byId("NID", "ABC451123")],
    }, { action: "search", total: 1 });
    assert.equal(res.status, 202);
    assert.equal(await h.drain(), 1);
    const sent = h.http.sent[0] as Json;
    assert.equal(sent.body.header.action, "on-search");
    const record = sent.body.message.search_response[0].data.reg_records[0];
    assert.equal(record["@id"], "IBR-TEST-001");
    assert.equal(record.programme_identifier[0].programme_identifier, "DCI001");
  } finally {
    h.close();
  }
});

Deno.test("IBR over HTTP: sync/enrolled answers yes/no signed; a header-level refusal is a complete answer", async () => {
  const h = await ibrHarness();
  try {
    const ask = (person: string) => ({
      transaction_id: "t-e",
      enrolled_criteria: {
        query_type: "expression",
        response_entity: "Member",
        query: {
          person_identifier: { eq: person },
          "programme_identifier.program.programme_identifier": { eq: "DCI001" },
        },
      },
    });
    const yes = await post(h, "/sync/enrolled", ask("ABC451123"), { action: "search", total: 1 });
    assert.equal(yes.status, 200, JSON.stringify(yes.body));
    assert.equal(yes.body.header.action, "on-search");
    assert.equal(yes.body.message.enrolled_response[0].enrolled_status, "yes");
    const no = await post(h, "/sync/enrolled", ask("NOBODY"), { action: "search", total: 1 });
    assert.equal(no.body.message.enrolled_response[0].enrolled_status, "no");
    assert.equal(JSON.stringify(no.body).includes("Test3"), false, "no record, no name: data minimisation");
    const bad = await post(h, "/sync/enrolled", ask("ABC451123"), {
      action: "search",
      total: 1,
      header: { version: "9.9.9" },
    });
    assert.equal(bad.body.header.status, "rjct");
    assert.equal(bad.body.header.status_reason_code, "rjct.version.invalid");
    assert.equal(bad.body.message.enrolled_response[0].status, "rjct");
  } finally {
    h.close();
  }
});

Deno.test("IBR over HTTP: enrollment updates need registry.enrollment; they write, and subscribers are notified", async () => {
  const h = await ibrHarness();
  try {
    const sp = await createTestSender(h.deps, {
      scopes: ["registry.search", "registry.subscribe", "registry.enrollment"],
      auto_approve_subscriptions: true,
    });
    const sub = await post(h, "/subscribe", {
      transaction_id: "t-sub",
      subscribe_request: [{
        reference_id: "s1",
        timestamp: TS,
        subscribe_criteria: {
          reg_event_type: "enrollement_status_change",
          notify_record_type: "Beneficiary",
          filter: {},
        },
      }],
    }, { sender: sp, action: "subscribe", total: 1 });
    assert.equal(sub.status, 202, JSON.stringify(sub.body));
    await h.drain();
    const message = testEnrolmentUpdate("t-u", "Suspended");
    const refused = await post(h, "/sync/enrollment/updates", message, { action: "notify", total: 1 });
    assert.equal(refused.status, 403, JSON.stringify(refused.body));
    const ok = await post(h, "/sync/enrollment/updates", message, { sender: sp, action: "notify", total: 1 });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.header.action, "on-receipt");
    assert.deepEqual(ok.body.message.enrolled_response.map((i: Json) => i.status), ["succ"]);
    const before = h.http.sent.length;
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    const notes = (h.http.sent.slice(before) as Json[]).filter((s) => s.body.header.action === "notify");
    assert.equal(notes.length, 1);
    const data = notes[0].body.message.notify_event[0].data;
    assert.equal(data.reg_event_type, "enrollement_status_change");
    assert.equal(data.reg_records.enrollment_status, "Suspended");
  } finally {
    h.close();
  }
});
