/**
 * What the server answers about a subscription's `frequency` (on-subscribe, sync and async txn/status by
 * subscription_code_list) on every registry: built from the stored, normalised values, so it is what the spec's
 * SubscriptionInfo.frequency requires (start_time, end_time and frequency, times as date-times) whatever partial
 * or date-only frequency the sender sent, and left out when there is no cron or end time. And the duplicate rule:
 * one sender may hold the same events on several schedules, and a subscription without one keeps its old key.
 */
import assert from "node:assert/strict";
import { harness, type Json } from "../transactions/support.ts";
import { createTestSender } from "../helpers/auth.ts";
import { answerErrors, callbackErrors } from "../helpers/spec_check.ts";
import type { SpecRegistry } from "../helpers/spec_validator.ts";
import { testDeps } from "../helpers/deps.ts";
import { addSender } from "../../src/senders/store.ts";
import { subscribeProcessor } from "../../src/subscriptions/processors.ts";
import { dedupeKey } from "../../src/subscriptions/rules.ts";
import { input, subItem } from "./helpers.ts";

const REGISTRIES: Array<{ registry: SpecRegistry; event: string; txnStatus: boolean }> = [
  { registry: "social", event: "registration", txnStatus: true },
  { registry: "crvs", event: "registration", txnStatus: true },
  { registry: "dr", event: "registration", txnStatus: false }, // dr_api has no txn/status (spec_defects.ts)
  { registry: "fr", event: "registration", txnStatus: true },
  { registry: "ibr", event: "enrollment", txnStatus: true }, // IBR has no change events
];

Deno.test("on-subscribe and txn/status answer a partial or date-only frequency as the spec's complete one, on every registry", async () => {
  const h = await harness({ outboundAllow: "127.0.0.1" });
  try {
    const now = h.deps.clock.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const day = (ms: number) => iso(ms).slice(0, 10);
    // Each is accepted today (partners send them); what is answered is the stored, normalised frequency.
    const cases: Array<[string, Json, Json | undefined]> = [
      ["cron-only", { frequency: "0 0 * * *" }, undefined],
      ["date-only", { start_time: day(now), end_time: day(now + 5 * 86_400_000), frequency: "0 0 * * *" }, {
        start_time: `${day(now)}T00:00:00.000Z`,
        end_time: `${day(now + 5 * 86_400_000)}T00:00:00.000Z`,
        frequency: "0 0 * * *",
      }],
      ["offset", {
        start_time: "2026-01-01T00:00:00+05:30",
        end_time: "2099-01-01T00:00:00+05:30",
        frequency: " 0 0 * * 1 ",
      }, {
        start_time: "2025-12-31T18:30:00.000Z",
        end_time: "2098-12-31T18:30:00.000Z",
        frequency: "0 0 * * 1",
      }],
      // No start_time: the subscription's own start (its activation; auto-approved, so its creation).
      ["no-start", { end_time: iso(now + 86_400_000), frequency: "0 0 0 5,15 * ? *", tz: "Asia/Kolkata" }, {
        start_time: iso(now),
        end_time: iso(now + 86_400_000),
        frequency: "0 0 0 5,15 * ? *",
      }],
      ["no-cron", { start_time: iso(now), end_time: iso(now + 86_400_000) }, undefined],
    ];
    for (const { registry, event, txnStatus } of REGISTRIES) {
      const sender = await createTestSender(h.deps, { auto_approve_subscriptions: true });
      const prefix = `/dci_api/v1/${registry}/registry`;
      const ack = await h.post(`${prefix}/subscribe`, {
        transaction_id: `sub-${registry}`,
        subscribe_request: cases.map(([ref, frequency]) => ({
          reference_id: ref,
          timestamp: iso(now),
          subscribe_criteria: { reg_event_type: event, notify_record_type: "Person", frequency },
        })),
      }, { sender, senderUri: "https://rx.example/cb" });
      assert.equal(ack.status, 202, JSON.stringify(ack.body));
      await h.drain();
      const sent = h.http.sent.filter((s) =>
        s.body.header && (s.body.header as Json).receiver_id === sender.senderId
      );
      const onSubscribe = sent.find((s) => s.url.endsWith("/on-subscribe"))!;
      assert.deepEqual(callbackErrors(onSubscribe.body, { path: onSubscribe.url, registry }), [], registry);
      const items = (onSubscribe.body as Json).message.subscribe_response as Json[];
      assert.deepEqual(
        items.map((i) => i.status),
        cases.map(() => "succ"),
        `${registry}: ${JSON.stringify(items)}`,
      );
      for (const [i, [ref, , expected]] of cases.entries()) {
        assert.deepEqual(items[i].subscriptions[0].frequency, expected, `${registry} ${ref}`);
      }
      const codes = items.map((i) => i.subscriptions[0].code as string);
      if (!txnStatus) continue;
      const query = {
        transaction_id: `st-${registry}`,
        txnstatus_request: {
          reference_id: "q",
          txn_type: "subscribe",
          attribute_type: "subscription_code_list",
          attribute_value: codes,
        },
      };
      const sync = await h.post(`${prefix}/sync/txn/status`, query, { sender, action: "txn-status" });
      assert.equal(sync.status, 200, JSON.stringify(sync.body));
      assert.deepEqual(answerErrors(`${prefix}/sync/txn/status`, sync.status, sync.body), [], registry);
      const answered = (sync.body as Json).message.txnstatus_response.txn_status.subscribe_response as Json[];
      assert.deepEqual(
        answered.map((i) => i.subscriptions[0].frequency),
        cases.map(([, , e]) => e),
        registry,
      );
      await h.post(`${prefix}/txn/status`, { ...query, transaction_id: `ast-${registry}` }, {
        sender,
        action: "txn-status",
        senderUri: "https://rx.example/cb",
      });
      await h.drain();
      const onStatus = h.http.sent.find((s) =>
        s.url.endsWith("/txn/on-status") && (s.body.header as Json).receiver_id === sender.senderId
      )!;
      assert.deepEqual(callbackErrors(onStatus.body, { path: onStatus.url, registry }), [], registry);
    }
  } finally {
    h.close();
  }
});

Deno.test("subscribeProcessor() lets one sender hold the same events at once, daily and in a later window, not twice on one schedule", async () => {
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    const now = deps.clock.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    const daily = { start_time: iso(now), end_time: iso(now + 86_400_000), frequency: "0 0 * * *" };
    const run = async (txn: string, items: unknown[]) =>
      (await subscribeProcessor(
        deps,
        input("s1", { transaction_id: txn, subscribe_request: items }, "http://127.0.0.1:9/cb"),
      )).message.subscribe_response as Json[];
    const first = await run("t1", [
      subItem("now", {}),
      subItem("daily", { frequency: daily }),
      subItem("later", {
        frequency: {
          start_time: iso(now + 30 * 86_400_000),
          end_time: iso(now + 60 * 86_400_000),
          frequency: "0 0 * * 1",
        },
      }),
      subItem("until", { frequency: { end_time: iso(now + 86_400_000) } }),
    ]);
    assert.deepEqual(first.map((i) => [i.reference_id, i.status]), [
      ["now", "succ"],
      ["daily", "succ"],
      ["later", "succ"],
      ["until", "succ"],
    ]);
    // The same schedule written otherwise (spacing of the cron, the times' zone) is the same subscription.
    const again = await run("t2", [
      subItem("now", {}),
      subItem("daily", {
        frequency: {
          start_time: iso(now).replace("Z", "+00:00"),
          end_time: daily.end_time,
          frequency: " 0  0 * * * ",
        },
      }),
    ]);
    assert.deepEqual(again.map((i) => [i.status, i.status_reason_code]), [
      ["rjct", "rjct.event.already_subscribed"],
      ["rjct", "rjct.event.already_subscribed"],
    ]);
    assert.match(String(again[0].status_reason_message), /same event, record type, filter, frequency/);
  } finally {
    deps.close();
  }
});

Deno.test("dedupeKey() of a subscription without a schedule is the key stored before schedules; a stored one still refuses its twin", async () => {
  // The key subscriptions stored before: existing rows must keep meeting new identical subscriptions.
  const before =
    '{"eventType":"update","filter":null,"filterType":null,"recordType":"person","registry":"social"}';
  assert.equal(dedupeKey("social", "update", "person", undefined, undefined), before);
  assert.equal(
    dedupeKey("social", "update", "person", undefined, undefined, { start: null, end: null }),
    before,
  );
  assert.equal(
    dedupeKey("social", "update", "person", undefined, undefined, {
      cron: "0 0 * * *",
      end: "2027-01-01T00:00:00.000Z",
    }),
    before.slice(0, -1) + ',"schedule":{"cron":"0 0 * * *","end":"2027-01-01T00:00:00.000Z","start":null}}',
    "with a schedule: the old key with the schedule as its last member",
  );
  const deps = await testDeps({ outboundAllow: "127.0.0.1" });
  try {
    await addSender(deps, "s1", { name: "s1", auto_approve_subscriptions: true });
    const at = new Date(deps.clock.now()).toISOString();
    await deps.sql(
      `INSERT INTO subscriptions (code, sender_id, registry, reg_event_type, record_type, notify_record_type,
         dedupe_key, callback_url, state, correlation_id, reference_id, created_at, updated_at)
       VALUES ('old-1', 's1', 'social', 'update', 'person', 'person', ?, 'http://127.0.0.1:9/n', 'active', 'c0',
         'r0', ?, ?)`,
      [before, at, at],
    );
    const [item] = (await subscribeProcessor(
      deps,
      input("s1", { transaction_id: "t", subscribe_request: [subItem("r", {})] }, "http://127.0.0.1:9/cb"),
    )).message.subscribe_response as Json[];
    assert.equal(item.status_reason_code, "rjct.event.already_subscribed");
  } finally {
    deps.close();
  }
});
