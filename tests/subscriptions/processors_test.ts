import assert from "node:assert/strict";
import { testDeps } from "../helpers/deps.ts";
import { addSender } from "../../src/senders/store.ts";
import { deleteSender } from "../../src/senders/offboarding.ts";
import { subscribeProcessor, unsubscribeProcessor } from "../../src/subscriptions/processors.ts";
import { normaliseEventType, normaliseRecordType, notifyUrl } from "../../src/subscriptions/rules.ts";
import { input, subItem } from "./helpers.ts";
import { OutboundError } from "../../src/net/outbound.ts";
import { frProfile } from "../../src/registries/fr/mod.ts";
import { drProfile } from "../../src/registries/dr/profile.ts";

const URI = "http://127.0.0.1:9/cb";

type Item = Record<string, unknown> & { subscriptions?: Array<Record<string, unknown>> };

async function subscribe(
  deps: Awaited<ReturnType<typeof testDeps>>,
  sender: string,
  items: unknown[],
  uri = URI,
) {
  const r = await subscribeProcessor(
    deps,
    input(sender, { transaction_id: "t1", subscribe_request: items }, uri),
  );
  return r.message.subscribe_response as Item[];
}

Deno.test("normaliseEventType() reads registration/update/delete case-insensitively and accepts REGISTER", () => {
  assert.equal(normaliseEventType("REGISTER"), "registration");
  assert.equal(normaliseEventType("Registration"), "registration");
  assert.equal(normaliseEventType("spdci-common:RegistryEventType:Update"), "update");
  assert.equal(normaliseEventType("DELETE"), "delete");
  assert.equal(normaliseEventType("LiveBirth"), undefined);
  assert.equal(normaliseRecordType("spdci-extensions-dci:Member"), "person");
  assert.equal(normaliseRecordType("Household"), "group");
  assert.equal(normaliseRecordType("car"), undefined);
  // The registration event as the fr and dr spec samples name it, in their registries only.
  assert.equal(normaliseEventType("spdci-common:RegistryEventType:NewFarmer", frProfile), "registration");
  // dr's NewDisabledNewborn names newborns' registrations only: not widened to every registration.
  assert.equal(normaliseEventType("spdci-common:RegistryEventType:NewDisabledNewborn", drProfile), undefined);
  assert.equal(normaliseEventType("NewFarmer", drProfile), undefined);
  assert.equal(normaliseEventType("NewFarmer"), undefined);
});

Deno.test("notifyUrl() appends /registry/notify or replaces a callback path segment", () => {
  assert.equal(notifyUrl("https://a.example/cb"), "https://a.example/cb/registry/notify");
  assert.equal(notifyUrl("https://a.example/x/registry/on-search"), "https://a.example/x/registry/notify");
  assert.equal(notifyUrl("https://u:p@a.example/"), undefined);
  assert.equal(notifyUrl("ftp://a.example/"), undefined);
});

Deno.test("subscribeProcessor() makes pending subscriptions, or active ones for an auto-approve sender", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "manual", { name: "manual" });
    await addSender(deps, "auto", { name: "auto", auto_approve_subscriptions: true });
    const [p] = await subscribe(deps, "manual", [subItem("r1", { reg_event_type: "REGISTER" })]);
    assert.equal(p.status, "pdng");
    const code = String(p.subscriptions![0].code);
    assert.equal((await deps.storage.subscriptions.get(code))?.state, "pending");
    assert.equal((await deps.storage.subscriptions.get(code))?.reg_event_type, "registration");
    assert.equal(
      (await deps.storage.subscriptions.get(code))?.callback_url,
      "http://127.0.0.1:9/cb/registry/notify",
    );
    const [a] = await subscribe(deps, "auto", [subItem("r1", {})]);
    assert.equal(a.status, "succ");
    assert.equal((await deps.storage.subscriptions.get(String(a.subscriptions![0].code)))?.state, "active");
  } finally {
    deps.close();
  }
});

Deno.test("subscribeProcessor() echoes filter_type as the spec's QueryType names it, whatever prefix or case was sent", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    const pred = [{
      seq_num: 1,
      expression1: { attribute_name: "sex", operator: "eq", attribute_value: "male" },
    }];
    const [item] = await subscribe(deps, "s1", [
      subItem("p", { filter_type: "urn:dci:QueryType:Predicate ", filter: pred }),
    ]);
    assert.equal(item.status, "succ");
    assert.equal(item.subscriptions![0].filter_type, "predicate");
    const code = String(item.subscriptions![0].code);
    assert.equal((await deps.storage.subscriptions.get(code))?.filter_type, "predicate");
  } finally {
    deps.close();
  }
});

Deno.test("subscribeProcessor() answers each rule's rjct code per item", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1", subscriptionLimit: "3" });
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    const pred = [{
      seq_num: 1,
      expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
    }];
    const items = await subscribe(deps, "s1", [
      subItem("ok", { filter_type: "predicate", filter: pred }),
      subItem("dup", { filter_type: "predicate", filter: pred }),
      subItem("ev", { reg_event_type: "LiveBirth" }),
      subItem("rt", { notify_record_type: "vehicle" }),
      subItem("filter", {
        filter_type: "predicate",
        filter: [{ expression1: { attribute_name: "password", operator: "eq", attribute_value: 1 } }],
      }),
      subItem("gql", { filter_type: "graphql", filter: { expression: "query {}" } }),
      subItem("nul", {
        filter_type: "predicate",
        filter: [{ expression1: { attribute_name: "surname", operator: "ne", attribute_value: "x\u0000" } }],
      }),
      subItem("end", { frequency: { start_time: "2020-01-01T00:00:00Z", end_time: "2020-02-01T00:00:00Z" } }),
      subItem("civil", { reg_type: "ns:org:RegistryType:Civil", reg_event_type: "update" }),
      subItem("ok", {}),
    ]);
    const codes = items.map((i) => [i.reference_id, i.status, i.status_reason_code ?? null]);
    assert.deepEqual(codes, [
      ["ok", "succ", null],
      ["dup", "rjct", "rjct.event.already_subscribed"],
      ["ev", "rjct", "rjct.notify_types.invalid"],
      ["rt", "rjct", "rjct.notify_types.invalid"],
      ["filter", "rjct", "rjct.notify_details.invalid"],
      ["gql", "rjct", "rjct.notify_details.invalid"],
      ["nul", "rjct", "rjct.notify_details.invalid"],
      ["end", "rjct", "rjct.notify_details.invalid"],
      ["civil", "rjct", "rjct.notify_types.invalid"],
      ["ok", "rjct", "rjct.reference_id.duplicate"],
    ]);
    assert.match(
      String(items[8].status_reason_message),
      /reg_type "ns:org:RegistryType:Civil" is not served here/,
    );
    // A blocked notification URL (private address, not allowlisted) is refused without connecting.
    const [blocked] = await subscribe(
      deps,
      "s1",
      [subItem("b", { reg_event_type: "delete" })],
      "http://10.1.2.3/cb",
    );
    assert.equal(blocked.status_reason_code, "rjct.notify_details.invalid");
    // The per-sender limit (3 here): two more fit, the third does not.
    const more = await subscribe(deps, "s1", [
      subItem("a", { reg_event_type: "delete" }),
      subItem("b", { reg_event_type: "registration" }),
      subItem("c", { notify_record_type: "group" }),
    ]);
    assert.deepEqual(more.map((i) => i.status), ["succ", "succ", "rjct"]);
    assert.match(String(more[2].status_reason_message), /limit of 3/);
  } finally {
    deps.close();
  }
});

Deno.test("subscribeProcessor() takes a reg_type naming the path's registry, its aliases or record types, or none", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    const names = ["ns:org:RegistryType:Social", "social", "SPP:RegistryType:Individual", "", null];
    const items = await subscribe(
      deps,
      "s1",
      names.map((reg_type, i) =>
        subItem(`r${i}`, {
          reg_type,
          filter_type: "predicate",
          filter: [{ expression1: { attribute_name: "surname", operator: "eq", attribute_value: `n${i}` } }],
        })
      ),
    );
    assert.deepEqual(items.map((i) => i.status), names.map(() => "succ"), JSON.stringify(items));
    const fr = await subscribe(deps, "s1", [subItem("fr", { reg_type: "ns:org:RegistryType:FR" })]);
    assert.equal(fr[0].status_reason_code, "rjct.notify_types.invalid");
  } finally {
    deps.close();
  }
});

Deno.test("subscribeProcessor() re-run for the same transaction returns the same subscription", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    const inp = input("s1", { transaction_id: "t", subscribe_request: [subItem("r", {})] }, URI);
    const first = (await subscribeProcessor(deps, inp)).message.subscribe_response as Item[];
    const again = (await subscribeProcessor(deps, inp)).message.subscribe_response as Item[];
    assert.equal(again[0].status, "succ");
    assert.equal(again[0].subscriptions![0].code, first[0].subscriptions![0].code);
  } finally {
    deps.close();
  }
});

Deno.test("subscribeProcessor() re-run answers what an earlier run stored before any check; the URL is vetted once a request", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    const vetted: string[] = [];
    let refuse = false;
    const check = deps.http.check.bind(deps.http);
    deps.http.check = (url, options) => {
      vetted.push(url);
      if (refuse) return Promise.reject(new OutboundError("blocked", "the name no longer resolves"));
      return check(url, options);
    };
    const items = [subItem("a", {}), subItem("b", { reg_event_type: "registration" })];
    const inp = input("s1", { transaction_id: "t", subscribe_request: items }, URI);
    const first = (await subscribeProcessor(deps, inp)).message.subscribe_response as Item[];
    assert.deepEqual(first.map((i) => i.status), ["succ", "succ"]);
    assert.equal(vetted.length, 1, "one vet for both items");
    // The run again (a crash after its inserts committed), its URL now refused: the stored subscriptions are
    // answered, not refused while they stay live.
    refuse = true;
    const again = (await subscribeProcessor(deps, inp)).message.subscribe_response as Item[];
    assert.deepEqual(again.map((i) => i.status), ["succ", "succ"]);
    assert.deepEqual(
      again.map((i) => i.subscriptions![0].code),
      first.map((i) => i.subscriptions![0].code),
    );
    // A new item of that request is refused for its URL, once.
    const more = {
      ...inp,
      message: {
        transaction_id: "t",
        subscribe_request: [...items, subItem("c", { reg_event_type: "delete" })],
      },
    };
    const third = (await subscribeProcessor(deps, more)).message.subscribe_response as Item[];
    assert.deepEqual(third.map((i) => i.status), ["succ", "succ", "rjct"]);
    assert.match(
      String(third[2].status_reason_message),
      /notification URL refused: the name no longer resolves/,
    );
    assert.equal(vetted.length, 2);
  } finally {
    deps.close();
  }
});

Deno.test("unsubscribeProcessor() cancels own codes and rejects unknown, foreign and cancelled ones", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    await addSender(deps, "s2", { name: "s2", auto_approve_subscriptions: true });
    const [mine] = await subscribe(deps, "s1", [subItem("r", {})]);
    const [theirs] = await subscribe(deps, "s2", [subItem("r", {})]);
    const code = String(mine.subscriptions![0].code);
    const foreign = String(theirs.subscriptions![0].code);
    // Another registry's unsubscribe does not know this registry's subscription.
    const elsewhere = await unsubscribeProcessor(deps, {
      ...input("s1", { transaction_id: "u0", subscription_codes: [code] }),
      registry: "crvs",
    });
    assert.equal(elsewhere.status, "rjct");
    assert.equal(elsewhere.message.status_reason_code, "rjct.subscription_code.invalid");
    assert.equal((await deps.storage.subscriptions.get(code))?.state, "active");
    const inp = input("s1", { transaction_id: "u1", subscription_codes: [code, "nope", foreign] });
    const r = await unsubscribeProcessor(deps, inp);
    assert.equal(r.status, "succ");
    assert.deepEqual(
      (r.message.subscription_status as Item[]).map((s) => [s.code, s.status, s.status_reason_code ?? null]),
      // Another sender's code is answered as an unknown one (tests/security/ids_test.ts).
      [[code, "unsubscribe", null], ["nope", "unsubscribe", "rjct.subscription_code.invalid"], [
        foreign,
        "unsubscribe",
        "rjct.subscription_code.invalid",
      ]],
    );
    // The message's own reason (a spec field) says some codes failed, so the spec's fields alone do not read
    // "nope" as unsubscribed.
    assert.equal(r.message.status, "succ");
    assert.equal(r.message.status_reason_code, "rjct.subscription_code.invalid");
    assert.match(String(r.message.status_reason_message), /^2 of 3 codes were not unsubscribed/);
    assert.equal((await deps.storage.subscriptions.get(code))?.state, "cancelled");
    assert.equal((await deps.storage.subscriptions.get(foreign))?.state, "active");
    // A re-run of the same transaction still reports success; a new request says already unsubscribed.
    assert.equal((await unsubscribeProcessor(deps, inp)).status, "succ");
    const later = await unsubscribeProcessor(
      deps,
      input("s1", { transaction_id: "u2", subscription_codes: [code] }),
    );
    assert.equal(later.status, "rjct");
    // The code is in the message (the spec's UnSubscribeStatusReasonCode), not in the callback header.
    assert.equal(later.reasonCode, undefined);
    assert.equal(later.message.status_reason_code, "rjct.event.already_unsubscribed");
    // Once cancelled, the same criteria may be subscribed again.
    const [again] = await subscribe(deps, "s1", [subItem("r2", {})]);
    assert.equal(again.status, "succ");
  } finally {
    deps.close();
  }
});

Deno.test("unsubscribeProcessor() answers a code of a deleted sender's earlier registration as unknown", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    const [old] = await subscribe(deps, "s1", [subItem("r", {})]);
    const code = String(old.subscriptions![0].code);
    await deleteSender(deps, "s1");
    assert.equal((await deps.storage.subscriptions.get(code))?.cancelled_by, "sender-deleted");
    deps.clock.advance(120_000);
    await addSender(deps, "s1", { name: "s1 again", auto_approve_subscriptions: true });
    const r = await unsubscribeProcessor(
      deps,
      input("s1", { transaction_id: "u1", subscription_codes: [code] }),
    );
    assert.equal(r.status, "rjct");
    // Not "already unsubscribed": that would tell the new registration what the old one had.
    assert.equal(r.message.status_reason_code, "rjct.subscription_code.invalid");
    assert.equal(r.message.status_reason_message, `No subscription ${JSON.stringify(code)}`);
    // The new registration's own subscriptions are its own.
    const [mine] = await subscribe(deps, "s1", [subItem("r2", {})]);
    const own = String(mine.subscriptions![0].code);
    const ok = await unsubscribeProcessor(
      deps,
      input("s1", { transaction_id: "u2", subscription_codes: [own] }),
    );
    assert.equal(ok.status, "succ");
  } finally {
    deps.close();
  }
});
