/**
 * What the server really sends (on-subscribe, notify, on-unsubscribe) checked against the spec yaml
 * (tests/helpers/spec_check.ts; every test's callbacks are checked too, this one looks at the contents).
 */
import assert from "node:assert/strict";
import { type Harness, harness, type Json } from "../transactions/support.ts";
import { createTestSender, type TestSender } from "../helpers/auth.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { callbackErrors } from "../helpers/spec_check.ts";
import { person, putPerson } from "./helpers.ts";

const FEMALE = [{
  seq_num: 1,
  expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
}];

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
    const carol = await createTestSender(h.deps, { auto_approve_subscriptions: true });
    const now = h.deps.clock.now();
    const frequency = {
      start_time: new Date(now - 86_400_000).toISOString(),
      end_time: new Date(now + 60_000).toISOString(),
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
        item("r2", { reg_event_type: "update", notify_record_type: "person", filter: {} }),
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
      assert.deepEqual(callbackErrors(env, { path: "/registry/on-subscribe" }), []);
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
    assert.equal(items[1].subscriptions[0].locale, undefined);

    await putPerson(h.deps, person("n1", { sex: "female" })); // registration: r1 (female filter)
    await putPerson(h.deps, person("n1", { sex: "male" })); // update: r2
    // r1's cron holds its notification until the next 5th or 15th, at the latest its end_time (a minute on).
    h.deps.clock.advance(60_000);
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    const notifies = callbacks(h, "/registry/notify");
    assert.equal(notifies.length, 2);
    for (const env of notifies) assert.deepEqual(callbackErrors(env, { path: "/registry/notify" }), []);
    // r1's and r2's lanes run side by side: order is kept within a subscription, not across them.
    const order = [items[0].subscriptions[0].code, items[1].subscriptions[0].code];
    const events = notifies.map((n) => n.message.notify_event[0])
      .sort((a: Json, b: Json) => order.indexOf(a.subscription_code) - order.indexOf(b.subscription_code));
    assert.deepEqual(events.map((e: Json) => e.data.reg_event_type), ["REGISTER", "UPDATE"]);
    assert.equal(events[0].locale, "eng");
    // The same vocabulary as search answers, whatever the subscriber wrote ("SRPerson", "person").
    assert.deepEqual(events.map((e: Json) => [e.data.reg_type, e.data.reg_record_type]), [
      ["ns:org:RegistryType:Social", "SRPerson"],
      ["ns:org:RegistryType:Social", "SRPerson"],
    ]);
    // One record per notification, as the object the spec's NotifyEventRequest declares.
    assert.equal(events[1].data.reg_records.sex, "male");

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
      assert.deepEqual(callbackErrors(env, { path: "/registry/on-unsubscribe" }), []);
    }
    assert.equal(onUnsubscribe[1].header.status, "rjct");
    assert.equal(onUnsubscribe[1].header.status_reason_code, undefined);
    assert.equal(onUnsubscribe[1].message.status_reason_code, "rjct.event.already_unsubscribed");
  } finally {
    h.close();
  }
});
