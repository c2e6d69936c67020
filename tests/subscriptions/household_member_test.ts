/**
 * The social yaml's own event type, `NewHouseHoldMember`: a person who joins a household (registered in one or
 * moved into another) is notified with its record; a change that keeps the household, a person without one, a
 * move out and a deletion are not. A subscription to it names the person record type (the change is the
 * person's); a Group subscription to it is refused, saying so.
 */
import assert from "node:assert/strict";
import { harness, type Json } from "../transactions/support.ts";
import { createTestSender } from "../helpers/auth.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { callbackErrors } from "../helpers/spec_check.ts";
import { NEW_HOUSEHOLD_MEMBER } from "../../src/registries/social/profile.ts";
import { readRegistrant } from "../../src/registry/model.ts";
import { person, putPerson, removePerson } from "./helpers.ts";

const NOW = "2026-01-01T00:00:00.000Z";
const reg = (extra: Record<string, unknown>) => readRegistrant(person("p", extra), NOW);

Deno.test("NewHouseHoldMember is a person joining a household: registered in one or moved into another", () => {
  const m = NEW_HOUSEHOLD_MEMBER.matches;
  const inA = reg({ group_id: "HH-A" });
  assert.equal(m("registration", inA), true);
  assert.equal(m("registration", reg({})), false, "no household");
  assert.equal(m("update", reg({ group_id: "HH-B" }), inA), true, "moved to another household");
  assert.equal(m("update", reg({ group_id: "HH-A", sex: "male" }), inA), false, "the same household");
  assert.equal(m("update", inA, reg({})), true, "joined one");
  assert.equal(m("update", reg({}), inA), false, "left it");
  assert.equal(m("delete", inA, inA), false);
});

Deno.test("social NewHouseHoldMember: the new member is notified (the spec's enum value), nothing else is", async () => {
  const h = await harness({ outboundAllow: "127.0.0.1" });
  try {
    const sender = await createTestSender(h.deps, { auto_approve_subscriptions: true });
    const now = new Date(h.deps.clock.now()).toISOString();
    const item = (ref: string, criteria: Record<string, unknown>) => ({
      reference_id: ref,
      timestamp: now,
      subscribe_criteria: { reg_type: "ns:org:RegistryType:Social", filter_type: "predicate", ...criteria },
    });
    const res = await h.post("/registry/subscribe", {
      transaction_id: "sub-hh",
      subscribe_request: [
        item("members", { reg_event_type: "NewHouseHoldMember", notify_record_type: "SRPerson" }),
        item("groups", {
          reg_event_type: "spdci:common:RegistryEventType:NewHouseHoldMember",
          notify_record_type: "Group",
        }),
      ],
    }, { sender, senderUri: "https://rx.example/cb" });
    assert.equal(res.status, 202, JSON.stringify(res.body));
    await h.drain();
    const onSubscribe = h.http.sent.filter((s) => s.url.endsWith("/on-subscribe")).map((s) => s.body as Json);
    assert.equal(onSubscribe.length, 1);
    assert.deepEqual(callbackErrors(onSubscribe[0], { path: "/registry/on-subscribe" }), []);
    const [members, groups] = onSubscribe[0].message.subscribe_response as Json[];
    assert.equal(members.status, "succ", JSON.stringify(members));
    assert.equal(members.subscriptions[0].reg_event_type, "NewHouseHoldMember");
    assert.equal(groups.status, "rjct");
    assert.equal(groups.status_reason_code, "rjct.notify_types.invalid");
    assert.match(
      String(groups.status_reason_message),
      /NewHouseHoldMember happens to person records, not group/,
    );

    await putPerson(h.deps, { id: "HH-A", record_type: "group", group_type: "household" });
    await putPerson(h.deps, { id: "HH-B", record_type: "group", group_type: "household" });
    await putPerson(h.deps, person("alone")); // no household
    await putPerson(h.deps, person("m1", { group_id: "HH-A" })); // joins A
    await putPerson(h.deps, person("m1", { group_id: "HH-A", sex: "male" })); // stays in A
    await putPerson(h.deps, person("alone", { group_id: "HH-B" })); // joins B
    await putPerson(h.deps, person("m1", { group_id: "HH-B", sex: "male" })); // moves to B
    await removePerson(h.deps, "m1");
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    const notifies = h.http.sent.filter((s) => s.url.endsWith("/registry/notify")).map((s) => s.body as Json);
    for (const env of notifies) assert.deepEqual(callbackErrors(env, { path: "/registry/notify" }), []);
    const events = notifies.map((n) => n.message.notify_event[0]);
    assert.deepEqual(
      events.map((e: Json) => [e.data.reg_event_type, e.data.reg_record_type, e.data.reg_records["@id"]]),
      [
        ["NewHouseHoldMember", "SRPerson", "m1"],
        ["NewHouseHoldMember", "SRPerson", "alone"],
        ["NewHouseHoldMember", "SRPerson", "m1"],
      ],
    );
  } finally {
    h.close();
  }
});
