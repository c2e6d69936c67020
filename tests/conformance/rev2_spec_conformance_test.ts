/**
 * Answers held to the raw spec yaml where a review found them outside it: txn status of receipts (found by
 * transaction_id; pending ones in the yaml's receipt shape; crvs and fr, whose txn_type enum has no `receipt`),
 * IBR `sync/enrollment/updates` with the yaml's MsgCallbackHeader (no sender_id) and an empty beneficiary list,
 * header.total_count on DR and IBR sync endpoints, and the subscribe filter's documented shapes.
 */
import assert from "node:assert/strict";
import { type Harness, harness, type Json } from "../transactions/support.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { answerErrors } from "../helpers/spec_check.ts";
import { specErrors, type SpecRegistry } from "../helpers/spec_validator.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { fanOutAll } from "../../src/subscriptions/fanout.ts";
import { input, person, putPerson, subItem } from "../subscriptions/helpers.ts";
import { specTxnType, type TxnType } from "../../src/dci/rejection.ts";
import { testEnrolmentUpdate } from "../registries/ibr_fixture.ts";

/** The sync txn status operation's answer envelope, in any registry's yaml. */
const TXN_STATUS_ANSWER =
  "/paths/~1registry~1sync~1txn~1status/post/responses/default/content/application~1json/schema";

/** The errors of a sync txn/status answer against `registry`'s published yaml, no relaxation applied. */
function rawStatusErrors(registry: SpecRegistry, body: unknown): string[] {
  return specErrors(registry, TXN_STATUS_ANSWER, body, { raw: true });
}

/** A sender "carol" subscribed (auto-approved) to registrations, with one notification delivered to her. */
async function withNotification(h: Harness): Promise<{ carol: TestSender; notificationId: string }> {
  const carol = await createTestSender(h.deps, { auto_approve_subscriptions: true });
  const sub = await subscribeProcessor(
    h.deps,
    input(carol.senderId, {
      transaction_id: "s1",
      subscribe_request: [subItem("r1", { reg_event_type: "REGISTER" })],
    }, "https://carol.example/cb"),
  );
  assert.equal((sub.message as Json).subscribe_response[0].status, "succ");
  await putPerson(h.deps, person("p1"));
  await fanOutAll(h.deps);
  const [n] = await h.deps.storage.notifications.list({ sender: carol.senderId });
  return { carol, notificationId: n.notification_id };
}

function statusQuery(query: Record<string, unknown>) {
  return { transaction_id: "q", txnstatus_request: { reference_id: "q1", ...query } };
}

async function syncStatus(h: Harness, registry: string, query: Record<string, unknown>, sender?: TestSender) {
  const res = await h.post(`/dci_api/v1/${registry}/registry/sync/txn/status`, statusQuery(query), {
    action: "txn-status",
    sender,
  });
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as Json;
}

async function postReceipt(
  h: Harness,
  registry: string,
  sender: TestSender,
  txn: string,
  notificationId: string,
) {
  const res = await h.post(`/dci_api/v1/${registry}/registry/receipt`, {
    transaction_id: txn,
    notification_id: notificationId,
  }, { sender, senderUri: "https://carol.example/cb", action: "receipt" });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  return (res.body as Json).message.correlation_id as string;
}

Deno.test("txn/status finds a receipt by its transaction_id and shows its stored on-receipt result", async () => {
  const h = await harness();
  try {
    const { carol, notificationId } = await withNotification(h);
    await postReceipt(h, "social", carol, "rcpt-1", notificationId);
    await h.drain();
    const onReceipt = h.http.sent.find((s) => (s.body as Json).header.action === "on-receipt")!;
    const body = await syncStatus(h, "social", {
      txn_type: "receipt",
      attribute_type: "transaction_id",
      attribute_value: "rcpt-1",
    }, carol);
    assert.equal(body.header.status, "succ", JSON.stringify(body));
    assert.equal(body.message.txnstatus_response.txn_type, "receipt");
    assert.deepEqual(body.message.txnstatus_response.txn_status, (onReceipt.body as Json).message);
    assert.deepEqual(rawStatusErrors("social", body), []);
    // Without txn_type (OpenSPP's client sends none) it is found too.
    const untyped = await syncStatus(h, "social", {
      attribute_type: "transaction_id",
      attribute_value: "rcpt-1",
    }, carol);
    assert.equal(untyped.message.txnstatus_response.txn_type, "receipt");
  } finally {
    h.close();
  }
});

Deno.test("the status of a pending receipt is the yaml's receipt shape (social, ibr), valid against the raw yaml", async () => {
  const h = await harness();
  try {
    const { carol, notificationId } = await withNotification(h);
    for (const registry of ["social", "ibr"] as const) {
      const corr = await postReceipt(h, registry, carol, `rc-${registry}`, notificationId);
      const body = await syncStatus(h, registry, {
        txn_type: "receipt",
        attribute_type: "correlation_id",
        attribute_value: corr,
      }, carol);
      const status = body.message.txnstatus_response.txn_status;
      assert.deepEqual(status, {
        transaction_id: `rc-${registry}`,
        correlation_id: corr,
        receipt_information: { notification_id: notificationId },
        receipt_response: {
          status: status.receipt_response.status,
          timestamp: status.receipt_response.timestamp,
        },
      });
      assert.ok(["rcvd", "pdng"].includes(status.receipt_response.status));
      assert.deepEqual(rawStatusErrors(registry, body), [], registry);
    }
  } finally {
    h.close();
  }
});

Deno.test("crvs and fr answer txn status only with their own txn_type values (no receipt; unsubscribe kept)", async () => {
  const h = await harness();
  try {
    const { carol, notificationId } = await withNotification(h);
    // A real fr receipt: found by correlation_id with no txn_type, it is refused in fr's terms, not shown as one.
    const frReceipt = await postReceipt(h, "fr", carol, "rc-fr", notificationId);
    const found = await syncStatus(
      h,
      "fr",
      { attribute_type: "correlation_id", attribute_value: frReceipt },
      carol,
    );
    assert.equal(found.header.status, "rjct");
    assert.equal(found.message.txnstatus_response.txn_type, "search");
    assert.match(found.header.status_reason_message, /is a receipt, which has no txn_type in fr's spec/);
    assert.deepEqual(rawStatusErrors("fr", found), []);
    for (const registry of ["crvs", "fr"] as const) {
      const receipt = await syncStatus(h, registry, {
        txn_type: "receipt",
        attribute_type: "correlation_id",
        attribute_value: frReceipt,
      }, carol);
      assert.equal(receipt.header.status, "rjct");
      assert.equal(receipt.message.txnstatus_response.txn_type, "search");
      assert.match(receipt.header.status_reason_message, /txn_type "receipt" is not one of/);
      assert.deepEqual(rawStatusErrors(registry, receipt), [], registry);
      // Not found, asked as an unsubscribe: answered as one (an UnSubscribeResponse), not as a subscribe.
      const unsub = await syncStatus(h, registry, {
        txn_type: "unsubscribe",
        attribute_type: "transaction_id",
        attribute_value: "nope",
      });
      assert.equal(unsub.header.status, "rjct");
      assert.equal(unsub.message.txnstatus_response.txn_type, "unsubscribe");
      assert.equal(unsub.message.txnstatus_response.txn_status.status, "rjct");
      assert.deepEqual(rawStatusErrors(registry, unsub), [], registry);
    }
  } finally {
    h.close();
  }
});

Deno.test("specTxnType() never answers a txn_type outside the registry's types", () => {
  const social: TxnType[] = ["search", "subscribe", "receipt"];
  const crvs: TxnType[] = ["search", "subscribe", "unsubscribe"];
  for (const raw of ["search", "subscribe", "unsubscribe", "receipt", "txn-status", "", undefined, 3]) {
    assert.ok(social.includes(specTxnType(raw, social)), String(raw));
    assert.ok(crvs.includes(specTxnType(raw, crvs)), String(raw));
    // Registry not told: only what every registry's spec names.
    assert.ok(["search", "subscribe"].includes(specTxnType(raw)), String(raw));
  }
  assert.equal(specTxnType("unsubscribe", social), "subscribe");
  assert.equal(specTxnType("unsubscribe", crvs), "unsubscribe");
  assert.equal(specTxnType("Receipt", social), "receipt");
  assert.equal(specTxnType("receipt", crvs), "search");
});

/** POSTs `message` to `path` signed by `sender` with the header `header` makes of a request header. */
async function postRaw(
  h: Harness,
  sender: TestSender,
  path: string,
  message: Json,
  header: (h: Json) => Json,
) {
  const env = requestEnvelope(sender.senderId, message, { nowMs: h.deps.clock.now(), totalCount: 1 });
  env.header = header(env.header);
  const res = await h.app.request(path, {
    method: "POST",
    headers: { "content-type": "application/json", ...sender.headers() },
    body: JSON.stringify(sender.sign(env, h.deps.clock.now())),
  });
  const body = await res.json();
  assert.deepEqual(answerErrors(path, res.status, body), []);
  return { status: res.status, body };
}

const UPDATES = "/dci_api/v1/ibr/registry/sync/enrollment/updates";

/** The yaml's MsgCallbackHeader_V1.0.0 of a request: its four required fields only. */
function callbackHeader(header: Json): Json {
  return { message_id: header.message_id, message_ts: header.message_ts, action: "notify", status: "succ" };
}

Deno.test("sync/enrollment/updates takes the yaml's MsgCallbackHeader without sender_id (the token's sender)", async () => {
  const h = await harness();
  try {
    const sp = await createTestSender(h.deps, { scopes: ["registry.enrollment"] });
    const other = await createTestSender(h.deps, { scopes: ["registry.enrollment"] });
    const message = testEnrolmentUpdate("t-u1", "Suspended");
    const ok = await postRaw(h, sp, UPDATES, message, (header) => {
      const spec = callbackHeader(header);
      assert.deepEqual(
        specErrors("ibr", "/components/schemas/MsgCallbackHeader_V1.0.0", spec, { raw: true }),
        [],
      );
      return spec;
    });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.header.receiver_id, sp.senderId);
    assert.equal(ok.body.message.enrolled_response.length, 1);
    // null reads as absent too.
    const nulled = await postRaw(
      h,
      sp,
      UPDATES,
      message,
      (header) => ({ ...callbackHeader(header), sender_id: null }),
    );
    assert.equal(nulled.status, 200, JSON.stringify(nulled.body));
    // A sender_id given must still be the token's.
    const wrong = await postRaw(h, sp, UPDATES, message, (header) => ({
      ...callbackHeader(header),
      sender_id: other.senderId,
    }));
    assert.equal(wrong.status, 403);
    // Another sender's signature does not pass for the token's sender.
    const env = requestEnvelope(sp.senderId, message, { nowMs: h.deps.clock.now() });
    env.header = callbackHeader(env.header);
    const forged = await h.app.request(UPDATES, {
      method: "POST",
      headers: { "content-type": "application/json", ...sp.headers() },
      body: JSON.stringify(other.sign(env, h.deps.clock.now())),
    });
    assert.equal(forged.status, 401, await forged.text());
    // Everywhere else the request header's sender_id stays required.
    const search = await postRaw(
      h,
      h.alice,
      "/dci_api/v1/ibr/registry/sync/enrolled",
      { transaction_id: "t-e", enrolled_criteria: { query: { person_identifier: { eq: "ABC451123" } } } },
      (header) => {
        const { sender_id: _, ...rest } = header;
        return rest;
      },
    );
    assert.equal(search.status, 400);
    assert.match(search.body.message.error.message, /header\.sender_id is required/);
  } finally {
    h.close();
  }
});

Deno.test("sync/enrollment/updates answers an empty beneficiary list (no minimum in the yaml) with an empty list", async () => {
  const h = await harness();
  try {
    const sp = await createTestSender(h.deps, { scopes: ["registry.enrollment"] });
    const message = { transaction_id: "t-empty", enrolled_updates: { beneficiaries: [] } };
    assert.deepEqual(
      specErrors("ibr", "/components/schemas/EnrollmentUpdatesRequest", message, { raw: true }),
      [],
    );
    const res = await postRaw(
      h,
      sp,
      UPDATES,
      message,
      (header) => ({ ...callbackHeader(header), total_count: 0 }),
    );
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.header.status, "succ");
    assert.deepEqual(res.body.message.enrolled_response, []);
    assert.deepEqual(
      specErrors("ibr", "/components/schemas/EnrollmentUpdatesResponse", res.body.message, { raw: true }),
      [],
    );
    // A total_count that is given is the number of beneficiaries, as a request header's is its items.
    const wrong = await postRaw(
      h,
      sp,
      UPDATES,
      { ...message, transaction_id: "t-wrong" },
      (header) => ({ ...callbackHeader(header), total_count: 3 }),
    );
    assert.equal(
      wrong.body.header.status_reason_code,
      "rjct.total_count.invalid",
      JSON.stringify(wrong.body),
    );
  } finally {
    h.close();
  }
});

Deno.test("dr sync/disabled and ibr sync/enrolled refuse a header.total_count other than their item count", async () => {
  const h = await harness();
  try {
    const criteria = { query_type: "idtype-value", query: { type: "UIN", value: "x" } };
    const cases: Array<[string, Json, number, string]> = [
      [
        "/dci_api/v1/dr/registry/sync/disabled",
        { transaction_id: "d", disabled_criteria: criteria },
        1,
        "dr",
      ],
      [
        "/dci_api/v1/ibr/registry/sync/enrolled",
        { transaction_id: "i", enrolled_criteria: criteria },
        1,
        "ibr",
      ],
      [
        "/dci_api/v1/ibr/registry/sync/enrolled",
        {
          transaction_id: "i2",
          enrolled_criteria: [criteria, { ...criteria, reference_id: "r2" }],
        },
        2,
        "ibr",
      ],
    ];
    for (const [path, message, items] of cases) {
      const wrong = await postRaw(h, h.alice, path, message, (header) => ({ ...header, total_count: 7 }));
      // As sync/search answers it: HTTP 400 with the endpoint's complete answer, its header rjct with the code.
      assert.equal(wrong.status, 400, JSON.stringify(wrong.body));
      assert.equal(wrong.body.header.status, "rjct");
      assert.equal(wrong.body.header.status_reason_code, "rjct.total_count.invalid");
      assert.match(wrong.body.header.status_reason_message, new RegExp(`total_count 7 .*\\(${items}\\)`));
      const right = await postRaw(h, h.alice, path, message, (header) => ({ ...header, total_count: items }));
      assert.equal(right.status, 200);
      assert.notEqual(right.body.header.status_reason_code, "rjct.total_count.invalid", path);
    }
    // A sender allowed to miscount (OpenSPP's guide sends 10 for one item) is not refused.
    const lenient = await createTestSender(h.deps, { lenient: ["total_count"] } as Json);
    const ok = await postRaw(
      h,
      lenient,
      cases[0][0],
      cases[0][1],
      (header) => ({ ...header, total_count: 10 }),
    );
    assert.notEqual(ok.body.header.status_reason_code, "rjct.total_count.invalid");
  } finally {
    h.close();
  }
});

Deno.test("the OpenAPI document gives subscribe's filter the yaml's shapes: an object or a predicate list", async () => {
  const h = await harness();
  try {
    const doc = await (await h.app.request("/dci_api/v1/openapi.json")).json();
    const filter =
      doc.components.schemas.SubscribeRequestItem.properties.subscribe_criteria.properties.filter;
    const shapes = (filter.anyOf ?? filter.oneOf ?? []).map((s: Json) => s.type);
    assert.deepEqual(shapes.sort(), ["array", "object"]);
    const predicates = (filter.anyOf ?? filter.oneOf).find((s: Json) => s.type === "array");
    assert.ok(predicates.items.properties.expression1);
  } finally {
    h.close();
  }
});
