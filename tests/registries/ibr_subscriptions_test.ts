/**
 * IBR subscriptions end to end in process: a sender subscribes to the IBR's enrolment events, an SP system's
 * enrolment update changes a beneficiary's status, and the notifier delivers a signed notify to a real loopback
 * receiver that checks it against ibr_api_v1.0.0.yaml (NotifyEventRequest: reg_event_type as the yaml spells it).
 */
import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { addSender } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { verifyEnvelope } from "../../src/auth/envelope_signature.ts";
import { ibrProfile } from "../../src/registries/ibr/index.ts";
import { input, startReceiver, subItem } from "../subscriptions/helpers.ts";
import { checkIbr } from "./ibr_jsonld.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

Deno.test("IBR: an enrolment status change is notified to its subscriber, signed, in the IBR vocabulary", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  const rx = startReceiver({ registry: "ibr" });
  try {
    const now = () => new Date(deps.clock.now()).toISOString();
    await deps.storage.registryLoad.writeAll(
      [...ibrProfile.demo(0, 1)].map((raw, i) => ({ line: i + 1, raw })),
      {
        now,
        profile: ibrProfile,
      },
    );
    await addSender(deps, "pension", { name: "pension", auto_approve_subscriptions: true });
    const codes: Record<string, string> = {};
    for (const type of ["enrollement_status_change", "ENROLLMENT"]) {
      const r = await subscribeProcessor(deps, {
        ...input("pension", {
          transaction_id: "t",
          subscribe_request: [subItem("r", { reg_event_type: type, notify_record_type: "Beneficiary" })],
        }, rx.url),
        registry: "ibr",
      });
      const item = (r.message.subscribe_response as Json[])[0];
      assert.equal(item.status, "succ", JSON.stringify(item));
      codes[type] = item.subscriptions[0].code;
    }
    // A subscription to updates made before such subscriptions were refused on the IBR: it is sent nothing.
    await addSender(deps, "old", { name: "old", auto_approve_subscriptions: true });
    const old = await subscribeProcessor(deps, {
      ...input("old", {
        transaction_id: "t",
        subscribe_request: [
          subItem("r", { reg_event_type: "ENROLLMENT", notify_record_type: "Beneficiary" }),
        ],
      }, rx.url),
      registry: "ibr",
    });
    codes.old = (old.message.subscribe_response as Json[])[0].subscriptions[0].code;
    await deps.sql("UPDATE subscriptions SET reg_event_type = 'update' WHERE code = ?", [codes.old]);
    const action = ibrProfile.actions.find((a) => a.path === "/sync/enrollment/updates")!;
    const beneficiary = (status: string, programme = "DCI001") => ({
      member: { member_identifier: [{ identifier_type: "UIN", identifier_value: "BENEFICIARY-TEST-001" }] },
      programme_identifier: [{
        programme_identifier: programme,
        programme_name: "Test Programme",
        enrolment_date: "2024-02-02",
        enrolment_status: status,
      }],
    });
    const update = (b: Json) =>
      action.handle(deps, {
        registry: "ibr",
        senderId: "spmis",
        header: { message_id: crypto.randomUUID() },
        message: action.request.parse({
          transaction_id: "t",
          enrolled_updates: { beneficiaries: [b] },
        }) as Json,
        correlationId: "c",
        now: deps.clock.now(),
      });
    await update(beneficiary("Suspended"));
    await update(beneficiary("Active", "PRG-NEW"));
    await runNotifierOnce(deps, { random: () => 0.5 });
    const got = rx.received.map((r) => (r.body.message as Json).notify_event[0]);
    const byCode = (code: string) => got.filter((e) => e.subscription_code === code);
    assert.equal(byCode(codes.enrollement_status_change).length, 1, JSON.stringify(got));
    assert.equal(byCode(codes.ENROLLMENT).length, 1);
    assert.equal(byCode(codes.old).length, 0);
    const change = byCode(codes.enrollement_status_change)[0].data;
    assert.equal(change.reg_event_type, "enrollement_status_change");
    assert.equal(change.reg_type, "ns:org:RegistryType:IBR");
    assert.equal(change.reg_records.enrollment_status, "Suspended");
    assert.deepEqual(checkIbr(change.reg_records, "Beneficiary", { top: true }), []);
    const enrolled = byCode(codes.ENROLLMENT)[0].data;
    assert.equal(enrolled.reg_event_type, "enrollement");
    assert.deepEqual(
      enrolled.reg_records.programme_identifier.map((
        p: Json,
      ) => [p.programme_identifier, p.enrolment_status]),
      [["DCI001", "Suspended"], ["PRG-NEW", "Active"]],
    );
    for (const r of rx.received) {
      const v = verifyEnvelope(r.body as { header: unknown; message: unknown; signature: string }, {
        nowMs: deps.clock.now(),
        resolveKey: () => deps.keys.active().publicKey,
      });
      assert.equal(v.ok, true);
    }
  } finally {
    await rx.close();
    deps.close();
  }
});

Deno.test("IBR: a subscription to registrations, updates or deletes is refused (the ibr yaml has no reg_event_type for them)", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "pension", { name: "pension", auto_approve_subscriptions: true });
    for (const type of ["REGISTER", "update", "DELETE"]) {
      const r = await subscribeProcessor(deps, {
        ...input("pension", {
          transaction_id: "t",
          subscribe_request: [subItem("r", { reg_event_type: type, notify_record_type: "Beneficiary" })],
        }, "http://127.0.0.1:9/cb"),
        registry: "ibr",
      });
      const item = (r.message.subscribe_response as Json[])[0];
      assert.equal(item.status, "rjct", type);
      assert.equal(item.status_reason_code, "rjct.notify_types.invalid");
      assert.match(
        item.status_reason_message,
        /enrollement, enrollement_status_change \(the ibr spec names no/,
      );
    }
    // Another registry still takes them.
    const social = await subscribeProcessor(deps, {
      ...input("pension", {
        transaction_id: "t2",
        subscribe_request: [subItem("r", { reg_event_type: "REGISTER", notify_record_type: "Person" })],
      }, "http://127.0.0.1:9/cb"),
      registry: "social",
    });
    const socialItem = (social.message.subscribe_response as Json[])[0];
    assert.equal(socialItem.status, "succ", JSON.stringify(socialItem));
  } finally {
    deps.close();
  }
});

Deno.test("IBR enrolment events happen to beneficiaries: a Programme subscription to them is refused; crvs takes the yaml's Member", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "pension", { name: "pension", auto_approve_subscriptions: true });
    const subscribe = async (registry: "ibr" | "crvs", criteria: Record<string, unknown>) => {
      const r = await subscribeProcessor(deps, {
        ...input("pension", {
          transaction_id: crypto.randomUUID(),
          subscribe_request: [subItem("r", criteria)],
        }, "http://127.0.0.1:9/cb"),
        registry,
      });
      return (r.message.subscribe_response as Json[])[0];
    };
    for (const type of ["enrollement", "enrollement_status_change"]) {
      const refused = await subscribe("ibr", { reg_event_type: type, notify_record_type: "Programme" });
      assert.equal(refused.status, "rjct", type);
      assert.equal(refused.status_reason_code, "rjct.notify_types.invalid");
      assert.match(
        refused.status_reason_message,
        /happens to ibr_person or ibr_group records, not ibr_programme/,
      );
      for (const rt of ["Beneficiary", "Group"]) {
        const ok = await subscribe("ibr", { reg_event_type: type, notify_record_type: rt });
        assert.equal(ok.status, "succ", `${type} ${rt}: ${JSON.stringify(ok)}`);
      }
    }
    const member = await subscribe("crvs", {
      reg_event_type: "spdci-common:RegistryEventType:LiveBirth",
      notify_record_type: "spdci-extensions-dci:Member",
    });
    assert.equal(member.status, "succ", JSON.stringify(member));
  } finally {
    deps.close();
  }
});
