import assert from "node:assert/strict";
import { createServerSender } from "../helpers/auth.ts";
import { postJson, runCliProcess } from "../helpers/server.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { verifyWithJwks } from "../transactions/support.ts";
import { startReceiver } from "./helpers.ts";
import {
  admin,
  importFromCli,
  notifiesOf,
  recordOf,
  remove,
  send,
  startServer,
  subscribeVia,
  updates,
} from "./e2e_support.ts";

const FEMALE = [{
  seq_num: 1,
  expression1: { attribute_name: "sex", operator: "eq", attribute_value: "female" },
}];

Deno.test("e2e: subscribe rules, filtered notifications in order, receipts, unsubscribe, approval", async () => {
  const rx = startReceiver();
  const server = await startServer({ DCI_SUBSCRIPTION_LIMIT: "4" });
  try {
    const alice = await createServerSender(server, { auto_approve_subscriptions: true });
    const bob = await createServerSender(server);
    await updates(server, "p1", ["male"]); // p1 exists before anyone subscribes: its registration is not sent
    const items = await subscribeVia(server, alice, rx, "a-sub", [
      { reg_event_type: "UPDATE", notify_record_type: "Person" },
      { reg_event_type: "update", notify_record_type: "person", filter_type: "predicate", filter: FEMALE },
      { reg_event_type: "REGISTER", notify_record_type: "person", filter_type: "predicate", filter: FEMALE },
      { reg_event_type: "delete", notify_record_type: "person" },
      { reg_event_type: "update", notify_record_type: "person" },
      { reg_event_type: "LiveBirth", notify_record_type: "person" },
      { reg_event_type: "update", notify_record_type: "car" },
      {
        reg_event_type: "update",
        notify_record_type: "person",
        filter_type: "predicate",
        filter: [{ expression1: { attribute_name: "x;DROP", operator: "eq", attribute_value: 1 } }],
      },
    ]);
    assert.deepEqual(items.map((i) => [i.status, i.status_reason_code ?? null]), [
      ["succ", null],
      ["succ", null],
      ["succ", null],
      ["succ", null],
      ["rjct", "rjct.event.already_subscribed"],
      ["rjct", "rjct.notify_types.invalid"],
      ["rjct", "rjct.notify_types.invalid"],
      ["rjct", "rjct.notify_details.invalid"],
    ]);
    const [all, females, femaleRegs, deletes] = items.slice(0, 4).map((i) => i.subscriptions![0].code);
    // The per-sender limit (4): alice is full.
    const over = await subscribeVia(server, alice, rx, "a-over", [{
      reg_event_type: "delete",
      notify_record_type: "group",
    }]);
    assert.equal(over[0].status_reason_code, "rjct.notify_details.invalid");

    // Bob has no auto-approve: pending until an operator approves.
    const [pending] = await subscribeVia(server, bob, rx, "b-sub", [{
      reg_event_type: "update",
      notify_record_type: "person",
    }]);
    assert.equal(pending.status, "pdng");
    const bobCode = pending.subscriptions![0].code;
    assert.equal((await admin(server, "GET", `/subscriptions/${bobCode}`)).body.state, "pending");

    await updates(server, "p1", ["female", "male"]); // two updates: all gets 2, females gets 1
    await updates(server, "p2", ["female"]); // registration of a female: femaleRegs gets it
    await updates(server, "p3", ["male"]); // registration of a male: nobody
    await remove(server, "p1");
    await rx.until(() => notifiesOf(rx, deletes).length === 1);
    await rx.until(() => notifiesOf(rx, all).length === 2 && notifiesOf(rx, females).length === 1);
    await rx.until(() => notifiesOf(rx, femaleRegs).length === 1);
    assert.deepEqual(notifiesOf(rx, all).map((r) => recordOf(r).sex), ["female", "male"]);
    assert.equal(recordOf(notifiesOf(rx, females)[0]).sex, "female");
    assert.equal(recordOf(notifiesOf(rx, femaleRegs)[0])["@id"], "p2");
    const del = recordOf(notifiesOf(rx, deletes)[0]);
    assert.deepEqual(Object.keys(del).sort(), ["@id", "@type", "identifier"]);
    assert.equal(notifiesOf(rx, bobCode).length, 0, "a pending subscription gets nothing");

    // Every notification is a signed notify envelope with X-DCI-Notification-ID.
    const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
    const n0 = notifiesOf(rx, all)[0];
    assert.equal((n0.body.header as Record<string, unknown>).action, "notify");
    assert.ok(verifyWithJwks(n0.body, jwks, Date.now()));
    const notificationId = n0.headers.get("x-dci-notification-id")!;
    assert.match(notificationId, /^[0-9a-f-]{36}$/);

    // Sync receipt: the caller's own notification → succ; bob cannot receipt alice's.
    const rcpt = (sender: typeof alice, id: string) =>
      postJson(
        `${server.url}/registry/sync/receipt`,
        sender.sign(
          requestEnvelope(sender.senderId, { transaction_id: `r-${id.slice(0, 8)}`, notification_id: id }, {
            action: "receipt",
          }),
        ),
        sender.headers(),
      );
    const mine = await rcpt(alice, notificationId);
    assert.equal(mine.status, 200);
    assert.equal((mine.body.header as Record<string, unknown>).action, "on-receipt");
    assert.equal((mine.body.header as Record<string, unknown>).status, "succ");
    assert.ok(verifyWithJwks(mine.body, jwks, Date.now()));
    const other = await rcpt(bob, notifiesOf(rx, all)[1].headers.get("x-dci-notification-id")!);
    assert.equal((other.body.header as Record<string, unknown>).status, "rjct");
    assert.equal(
      (other.body.message as { receipt_response: { status_reason_code: string } }).receipt_response
        .status_reason_code,
      "rjct.reference_id.invalid",
    );
    const received = await admin(server, "GET", `/notifications?status=received&subscription=${all}`);
    assert.deepEqual(
      (received.body.items as Array<{ notification_id: string }>).map((n) => n.notification_id),
      [notificationId],
    );

    // Async receipt: ACK, then on-receipt by callback.
    const second = notifiesOf(rx, females)[0].headers.get("x-dci-notification-id")!;
    const ack = await send(
      server,
      alice,
      "/registry/receipt",
      { transaction_id: "async-r", notification_id: second },
      rx.url,
      "receipt",
    );
    assert.equal(ack.status, 202);
    await rx.until((l) => l.some((r) => r.path === "/registry/on-receipt"));
    const onReceipt = rx.received.find((r) => r.path === "/registry/on-receipt")!;
    assert.equal((onReceipt.body.header as Record<string, unknown>).status, "succ");

    // The operator approves bob: from then on he gets updates.
    assert.equal((await admin(server, "POST", `/subscriptions/${bobCode}/approve`)).body.state, "active");
    assert.equal((await admin(server, "POST", `/subscriptions/${bobCode}/approve`)).status, 409);
    // A change made by another process (the CLI importer on the same data dir) is notified too.
    await importFromCli(server, "p2", ["male"]);
    await rx.until(() => notifiesOf(rx, bobCode).length === 1 && notifiesOf(rx, all).length === 3);
    assert.equal(recordOf(notifiesOf(rx, bobCode)[0]).sex, "male");

    // Unsubscribe: own code, unknown code, another sender's code; then again → already unsubscribed.
    const unsub = async (txn: string, codes: string[]) => {
      const r = await send(server, alice, "/registry/unsubscribe", {
        transaction_id: txn,
        timestamp: new Date().toISOString(),
        subscription_codes: codes,
      }, rx.url);
      assert.equal(r.status, 202);
      const match = (x: { path: string; body: Record<string, unknown> }) =>
        x.path.endsWith("/on-unsubscribe") &&
        (x.body.message as { transaction_id: string }).transaction_id === txn;
      await rx.until((l) => l.some(match));
      return rx.received.find(match)!.body;
    };
    const u1 = await unsub("u1", [all, "no-such-code", bobCode]);
    assert.deepEqual(
      (u1.message as { subscription_status: Array<Record<string, unknown>> }).subscription_status.map((
        s,
      ) => [s.code, s.status, s.status_reason_code ?? null]),
      // Bob's code is answered as an unknown one: no oracle of other senders' codes.
      [[all, "unsubscribe", null], ["no-such-code", "unsubscribe", "rjct.subscription_code.invalid"], [
        bobCode,
        "unsubscribe",
        "rjct.subscription_code.invalid",
      ]],
    );
    const u2 = await unsub("u2", [all]);
    assert.equal((u2.header as Record<string, unknown>).status, "rjct");
    assert.equal(
      (u2.message as { status_reason_code: string }).status_reason_code,
      "rjct.event.already_unsubscribed",
    );
    assert.equal((await admin(server, "GET", `/subscriptions/${bobCode}`)).body.state, "active");
    await updates(server, "p2", ["female"]);
    await rx.until(() => notifiesOf(rx, bobCode).length === 2);
    assert.equal(notifiesOf(rx, all).length, 3, "a cancelled subscription gets nothing more");

    // The CLI reads the same state.
    const env = { DCI_DATA_DIR: server.dataDir };
    const cli = await runCliProcess(["subscription", "list", "--state", "cancelled"], env);
    assert.equal(cli.code, 0, cli.stderr);
    assert.match(cli.stdout, new RegExp(all));
    const log = await runCliProcess(
      ["notification", "list", "--subscription", bobCode, "--status", "sent"],
      env,
    );
    assert.equal(log.code, 0, log.stderr);
    assert.equal(log.stdout.trim().split("\n").length, 3); // header + 2 rows
  } finally {
    await server.stop();
    await rx.close();
  }
});

Deno.test("e2e: failing deliveries move a subscription to error; reactivation re-sends and resumes in order", async () => {
  const rx = startReceiver();
  const server = await startServer({
    DCI_SUBSCRIPTION_FAILURE_LIMIT: "2",
    DCI_CALLBACK_RETRY_DELAYS_MS: "50",
  });
  try {
    const carol = await createServerSender(server, { auto_approve_subscriptions: true });
    const [item] = await subscribeVia(server, carol, rx, "c-sub", [{
      reg_event_type: "update",
      notify_record_type: "person",
    }]);
    const code = item.subscriptions![0].code;
    await updates(server, "q1", ["male"]);
    rx.status = (r) => r.path.endsWith("/notify") ? 503 : 200;
    await updates(server, "q1", ["female", "other", "unknown", "male"]);
    for (;;) {
      const s = await admin(server, "GET", `/subscriptions/${code}`);
      if (s.body.state === "error") break;
      await new Promise((r) => setTimeout(r, 50));
    }
    const failed = await admin(server, "GET", `/notifications?subscription=${code}&status=failed`);
    assert.equal((failed.body.items as unknown[]).length, 2);
    assert.match(String((failed.body.items as Array<{ last_error: string }>)[0].last_error), /HTTP 503/);
    assert.equal(notifiesOf(rx, code).length, 0);
    rx.status = () => 200;
    assert.equal((await admin(server, "POST", `/subscriptions/${code}/reactivate`)).body.state, "active");
    // The two that failed since the last delivered one are re-sent first, then the two that waited.
    await rx.until(() => notifiesOf(rx, code).length === 4);
    assert.deepEqual(notifiesOf(rx, code).map((r) => recordOf(r).sex), [
      "female",
      "other",
      "unknown",
      "male",
    ]);
    // The operator may also cancel; a cancelled subscription cannot be reactivated.
    assert.equal((await admin(server, "POST", `/subscriptions/${code}/cancel`)).body.state, "cancelled");
    assert.equal((await admin(server, "POST", `/subscriptions/${code}/reactivate`)).status, 409);
  } finally {
    await server.stop();
    await rx.close();
  }
});
