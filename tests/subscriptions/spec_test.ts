/** What the server really sends (on-subscribe, notify, on-unsubscribe) checked against the spec's JSON schemas. */
import assert from "node:assert/strict";
import { type Harness, harness, type Json } from "../transactions/support.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { bodySchema, socialSpec, validate } from "./spec_schema.ts";
import { person, putPerson } from "./helpers.ts";

const FEMALE = [{
  seq_num: 1,
  expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
}];

/**
 * The spec with the two extensions this server makes on purpose, and nothing else:
 * - NotifyEventRequest declares `reg_records` an object, but search responses have an array and the project
 *   sends `reg_records` always as an array (one record per notification);
 * - its `reg_event_type` enum knows only `REGISTER` and `NewHouseHoldMember`: updates and deletes, which the
 *   issue requires, are sent as `UPDATE` and `DELETE` (registrations as the spec's `REGISTER`).
 */
function specAsServed(): Json {
  const spec = socialSpec();
  const data = spec.components.schemas.NotifyEventRequest.properties.notify_event.items.properties.data;
  assert.equal(data.properties.reg_records.type, "object", "the spec still declares reg_records an object");
  data.properties.reg_records = { type: "array", items: { type: "object" } };
  assert.deepEqual(data.properties.reg_event_type.enum, ["REGISTER", "NewHouseHoldMember"]);
  data.properties.reg_event_type.enum.push("UPDATE", "DELETE");
  return spec;
}

function callbacks(h: Harness, suffix: string): Json[] {
  return h.http.sent.filter((s) => s.url.endsWith(suffix)).map((s) => s.body);
}

async function post(h: Harness, sender: TestSender, path: string, message: Record<string, unknown>) {
  const res = await h.post(path, message, { sender, senderUri: "https://rx.example/cb" });
  assert.equal(res.status, 202, JSON.stringify(res.body));
  await h.drain();
}

Deno.test("on-subscribe, notify and on-unsubscribe envelopes validate against the spec's JSON schemas", async () => {
  const h = await harness({ outboundAllow: "127.0.0.1" });
  try {
    const spec = specAsServed();
    const carol = await createTestSender(h.deps, { auto_approve_subscriptions: true });
    const now = h.deps.clock.now();
    const frequency = {
      start_time: new Date(now - 86_400_000).toISOString(),
      end_time: new Date(now + 86_400_000).toISOString(),
      frequency: "0 0 0 5,15 * ? *",
    };
    const item = (ref: string, criteria: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
      reference_id: ref,
      timestamp: new Date(now).toISOString(),
      subscribe_criteria: criteria,
      ...extra,
    });
    await post(h, carol, "/registry/subscribe", {
      transaction_id: "sub-1",
      subscribe_request: [
        item("r1", {
          reg_type: "ns:org:RegistryType:Social",
          reg_event_type: "REGISTER",
          notify_record_type: "SRPerson",
          filter_type: "predicate",
          filter: FEMALE,
          frequency,
        }, { locale: "eng" }),
        item("r2", { reg_event_type: "update", notify_record_type: "person", filter: {} }, { locale: "en" }),
        item("r3", { reg_event_type: "LiveBirth", notify_record_type: "person", filter: {} }),
        item("r3", { reg_event_type: "delete", notify_record_type: "person", filter: {} }),
      ],
    });
    // A sender without auto-approve: its items are pending (pdng).
    await post(h, h.alice, "/registry/subscribe", {
      transaction_id: "sub-2",
      subscribe_request: [item("p1", { reg_event_type: "update", notify_record_type: "person", filter: {} })],
    });
    const onSubscribe = callbacks(h, "/registry/on-subscribe");
    assert.equal(onSubscribe.length, 2);
    for (const env of onSubscribe) {
      assert.deepEqual(validate(spec, bodySchema(spec, "/registry/on-subscribe"), env), []);
    }
    const items = onSubscribe[0].message.subscribe_response;
    assert.deepEqual(items.map((i: Json) => [i.status, i.status_reason_code ?? null]), [
      ["succ", null],
      ["succ", null],
      ["rjct", "rjct.notify_types.invalid"],
      ["rjct", "rjct.reference_id.duplicate"],
    ]);
    assert.equal(onSubscribe[1].message.subscribe_response[0].status, "pdng");
    const info = items[0].subscriptions[0];
    assert.equal(info.reg_event_type, "REGISTER");
    assert.equal(info.locale, "eng");
    assert.deepEqual(info.frequency, frequency);
    assert.equal(items[1].subscriptions[0].locale, undefined, "a two-letter locale is not sent");

    putPerson(h.deps, person("n1", { sex: "female" })); // registration: r1 (female filter)
    putPerson(h.deps, person("n1", { sex: "male" })); // update: r2
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    const notifies = callbacks(h, "/registry/notify");
    assert.equal(notifies.length, 2);
    const asIs = socialSpec();
    for (const env of notifies) {
      assert.deepEqual(validate(spec, bodySchema(spec, "/registry/notify"), env), []);
      // Against the unpatched spec the only complaints are those two extensions.
      const type = env.message.notify_event[0].data.reg_event_type;
      assert.deepEqual(
        validate(asIs, { $ref: "#/components/schemas/NotifyEventRequest" }, env.message, "message"),
        [
          ...(type === "REGISTER" ? [] : [
            `message.notify_event[0].data.reg_event_type: "${type}" is not one of ["REGISTER","NewHouseHoldMember"]`,
          ]),
          "message.notify_event[0].data.reg_records: expected object, got array",
        ],
      );
    }
    const events = notifies.map((n) => n.message.notify_event[0]);
    assert.deepEqual(events.map((e: Json) => e.data.reg_event_type), ["REGISTER", "UPDATE"]);
    assert.equal(events[0].locale, "eng");
    assert.equal(events[0].data.reg_record_type, "SRPerson");
    assert.equal(events[0].data.reg_type, "ns:org:RegistryType:Social");

    const code = items[1].subscriptions[0].code;
    const unsubscribe = (txn: string, codes: string[]) =>
      post(h, carol, "/registry/unsubscribe", {
        transaction_id: txn,
        timestamp: new Date(now).toISOString(),
        subscription_codes: codes,
      });
    await unsubscribe("u-1", [code, "no-such-code"]);
    await unsubscribe("u-2", [code]); // every code refused: header rjct, the code in the message
    const onUnsubscribe = callbacks(h, "/registry/on-unsubscribe");
    assert.equal(onUnsubscribe.length, 2);
    for (const env of onUnsubscribe) {
      assert.deepEqual(validate(spec, bodySchema(spec, "/registry/on-unsubscribe"), env), []);
    }
    assert.equal(onUnsubscribe[1].header.status, "rjct");
    assert.equal(onUnsubscribe[1].header.status_reason_code, undefined);
    assert.equal(onUnsubscribe[1].message.status_reason_code, "rjct.event.already_unsubscribed");
  } finally {
    h.close();
  }
});

Deno.test("the spec validator catches what it is meant to catch", () => {
  const spec = socialSpec();
  const schema = bodySchema(spec, "/registry/on-unsubscribe");
  const ok = {
    signature: "x",
    header: {
      message_id: "1",
      message_ts: "2025-01-01T00:00:00Z",
      action: "on-unsubscribe",
      sender_id: "s",
      total_count: 1,
    },
    message: { transaction_id: "t", correlation_id: "c", timestamp: "2025-01-01T00:00:00Z", status: "succ" },
  };
  assert.deepEqual(validate(spec, schema, ok), []);
  const bad = structuredClone(ok) as Json;
  bad.header.action = "on-search";
  bad.message.status = "done";
  bad.message.timestamp = "yesterday";
  delete bad.message.correlation_id;
  const errors = validate(spec, schema, bad).join("\n");
  assert.match(errors, /header\.action: "on-search" is not one of/);
  assert.match(errors, /"done" is not one of/);
  assert.match(errors, /correlation_id" is missing/);
  assert.match(errors, /"yesterday" is not an ISO 8601 date-time/);
});
