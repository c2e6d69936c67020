/**
 * Farmer registry subscriptions in process (the transaction harness: real app, worker and notifier, outbound
 * requests recorded): subscribe on the fr registry, a farmer registered and updated there is notified in FR
 * vocabulary with the Farmer record; every on-subscribe and notify envelope validates against the FR yaml.
 */
import assert from "node:assert/strict";
import { harness, type Json } from "../transactions/support.ts";
import { createTestSender } from "../helpers/auth.ts";
import { callbackErrors } from "../helpers/spec_check.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { readRegistrant } from "../../src/registry/model.ts";
import type { Deps } from "../../src/deps.ts";
import { frProfile } from "../../src/registries/fr/mod.ts";
import { frValidator } from "./fr_jsonld.ts";
import { compileFilter } from "../../src/subscriptions/rules.ts";
import { FR_PERSON } from "../../src/registries/fr/attributes.ts";

const PREFIX = "/dci_api/v1/fr/registry";

/** Registers or updates a farmer record (input shape) in the fr registry, recording the registry event. */
async function putFarmer(deps: Deps, raw: Json): Promise<void> {
  const now = new Date(deps.clock.now()).toISOString();
  await deps.storage.registry.save(readRegistrant(raw, now, undefined, frProfile), { mode: "upsert", now });
}

Deno.test("fr subscribe + notify: a registered and an updated farmer are notified in FR vocabulary", async () => {
  const h = await harness({ outboundAllow: "127.0.0.1" });
  try {
    const carol = await createTestSender(h.deps, { auto_approve_subscriptions: true });
    const now = new Date(h.deps.clock.now()).toISOString();
    const sub = await h.post(`${PREFIX}/subscribe`, {
      transaction_id: "fr-sub",
      subscribe_request: [
        {
          reference_id: "cereal-growers",
          timestamp: now,
          subscribe_criteria: {
            reg_type: "ns:org:RegistryType:FR",
            reg_event_type: "spdci-common:RegistryEventType:REGISTER",
            notify_record_type: "spdci-extensions-dci:Farmer",
            filter_type: "predicate",
            filter: [{ expression1: { attribute_name: "crop_type", operator: "eq", attribute_value: "1" } }],
          },
        },
        {
          reference_id: "updates",
          timestamp: now,
          subscribe_criteria: { reg_event_type: "update", notify_record_type: "Farmer", filter: {} },
        },
      ],
    }, { sender: carol, senderUri: "https://rx.example/cb" });
    assert.equal(sub.status, 202, JSON.stringify(sub.body));
    await h.drain();
    const sent = (suffix: string) =>
      h.http.sent.filter((s) => s.url.endsWith(suffix)).map((s) => s.body as Json);
    const [onSubscribe] = sent("/registry/on-subscribe");
    assert.deepEqual(callbackErrors(onSubscribe, { path: "/registry/on-subscribe", registry: "fr" }), []);
    assert.deepEqual(onSubscribe.message.subscribe_response.map((i: Json) => i.status), ["succ", "succ"]);

    const { group_id: _, relationship: __, ...farmer } = [...frProfile.demo(0, 1)][1] as Json;
    await putFarmer(h.deps, farmer); // a cereal grower registered: the first subscription
    await putFarmer(h.deps, { ...farmer, sex: "female" }); // updated: the second
    await putFarmer(h.deps, {
      ...structuredClone(farmer),
      id: "F-BEANS",
      identifier: [],
      details: { farm: { crops: "7" } },
    });
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    const notifies = sent("/registry/notify");
    assert.equal(notifies.length, 2, JSON.stringify(notifies.map((n) => n.message)));
    for (const env of notifies) {
      assert.deepEqual(callbackErrors(env, { path: "/registry/notify", registry: "fr" }), []);
    }
    // Two subscriptions are two lanes, delivered side by side: order is kept within a lane, not across them.
    const events = notifies.map((n) => n.message.notify_event[0].data)
      .sort((a: Json, b: Json) => a.reg_event_type < b.reg_event_type ? -1 : 1);
    assert.deepEqual(events.map((e: Json) => [e.reg_type, e.reg_record_type, e.reg_event_type]), [
      ["ns:org:RegistryType:FR", "Farmer", "REGISTER"],
      ["ns:org:RegistryType:FR", "Farmer", "UPDATE"],
    ]);
    for (const e of events) assert.deepEqual(frValidator.validate(e.reg_records, "Farmer"), []);
    assert.equal(events[0].reg_records["@id"], "FR-TEST-001");
    assert.equal(events[1].reg_records.farmer_personal_details.demographic_info.sex, "female");

    // The subscriber marks the first notification received on the fr registry's receipt endpoint.
    const notified = h.http.sent.find((s) => s.url.endsWith("/registry/notify"))!;
    const notificationId = notified.init.headers?.["X-DCI-Notification-ID"];
    assert.ok(notificationId);
    const receipt = await h.post(`${PREFIX}/receipt`, {
      transaction_id: "fr-rc",
      notification_id: notificationId,
    }, {
      sender: carol,
      senderUri: "https://rx.example/cb",
    });
    assert.equal(receipt.status, 202, JSON.stringify(receipt.body));
    await h.drain();
    const [onReceipt] = sent("/registry/on-receipt");
    assert.deepEqual(callbackErrors(onReceipt, { path: "/registry/on-receipt", registry: "fr" }), []);
    assert.equal(onReceipt.message.receipt_response.status, "succ");
  } finally {
    h.close();
  }
});

Deno.test("fr subscribe: a range on a registry attribute and a LIKE on an e-mail decide on the record as the event recorded it", async () => {
  const h = await harness({ outboundAllow: "127.0.0.1" });
  try {
    const carol = await createTestSender(h.deps, { auto_approve_subscriptions: true });
    const now = new Date(h.deps.clock.now()).toISOString();
    const criteria = (filter: Json) => ({
      reg_event_type: "spdci-common:RegistryEventType:REGISTER",
      notify_record_type: "spdci-extensions-dci:Farmer",
      filter_type: "expression",
      filter,
    });
    const sub = await h.post(`${PREFIX}/subscribe`, {
      transaction_id: "fr-range",
      subscribe_request: [
        { reference_id: "large", timestamp: now, subscribe_criteria: criteria({ land_size: { $gte: 2 } }) },
        {
          reference_id: "coop",
          timestamp: now,
          subscribe_criteria: criteria({ email: { $like: "%@coop.example" } }),
        },
      ],
    }, { sender: carol, senderUri: "https://rx.example/cb" });
    assert.equal(sub.status, 202, JSON.stringify(sub.body));
    await h.drain();
    const { group_id: _, relationship: __, ...farmer } = [...frProfile.demo(0, 1)][1] as Json;
    // Registered with 2.5 ha and a co-operative's address, then changed (0.5 ha, another address) before fan-out
    // runs: the registration is decided on the record it registered, not on the record as it is now.
    await putFarmer(h.deps, { ...farmer, email: ["Farmer@COOP.example"] });
    const changed = structuredClone(farmer);
    changed.details.farm_details[0].land_size = 0.5;
    await putFarmer(h.deps, { ...changed, email: ["farmer@elsewhere.example"] });
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    const notified = h.http.sent.filter((s) => s.url.endsWith("/registry/notify"))
      .map((s) => (s.body as Json).message.notify_event[0]);
    assert.equal(notified.length, 2, JSON.stringify(notified));
    for (const e of notified) assert.equal(e.data.reg_records["@id"], "FR-TEST-001");
  } finally {
    h.close();
  }
});

Deno.test("compileFilter(): a registry attribute's range and a contact's LIKE read the event's record, never the value tables", () => {
  for (const dialect of ["sqlite", "postgres"] as const) {
    const compiled = compileFilter(
      "expression",
      { land_size: { $gte: 2 }, email: { $like: "%@coop.example" }, farm_type: { $ne: "1" } },
      FR_PERSON,
      "2026-01-01",
      dialect,
    )!;
    assert.doesNotMatch(compiled.sql, /registrant_values|registrant_contacts/, dialect);
    assert.match(compiled.sql, /r\.vals/);
    assert.match(compiled.sql, /r\.contacts/);
  }
});
