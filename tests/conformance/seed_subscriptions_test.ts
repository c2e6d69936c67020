/**
 * Seeding what partners test with: operators create subscriptions for a sender with chosen codes (admin API,
 * CLI, file import), checked as a subscribe request is; notifications then reach the chosen code's subscriber,
 * and the partner's own unsubscribe and txn status find the code.
 */
import assert from "node:assert/strict";
import { harness, type Json } from "../transactions/support.ts";
import { fanOutAll } from "../../src/subscriptions/fanout.ts";
import { runNotifierOnce } from "../../src/subscriptions/notifier.ts";
import { person, putPerson, startReceiver } from "../subscriptions/helpers.ts";
import { admin, notifiesOf, remove, send, startServer, updates } from "../subscriptions/e2e_support.ts";
import { createServerSender } from "../helpers/auth.ts";
import { runCliProcess } from "../helpers/server.ts";

const MEMBER_TEST_001 = {
  reg_event_type: "REGISTER",
  notify_record_type: "Member",
  filter_type: "idtype-value",
  filter: { type: "UIN", value: "TEST-001" },
};

Deno.test("admin API: POST /subscriptions seeds a chosen code, refuses bad input naming the field; notifications reach it", async () => {
  const h = await harness();
  try {
    const { token } = await h.deps.storage.adminTokens.create({ role: "admin" });
    const viewer = (await h.deps.storage.adminTokens.create({ role: "viewer" })).token;
    const call = async (path: string, body: unknown, bearer = token) => {
      const res = await h.app.request(`/admin/v1${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${bearer}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      return { status: res.status, body: await res.json() as Json };
    };
    const seed = {
      sender_id: h.alice.senderId,
      code: "sub-test-001",
      notify_url: "https://partner.example/cb/registry/notify",
      subscribe_criteria: MEMBER_TEST_001,
    };
    assert.equal((await call("/subscriptions", seed, viewer)).status, 403, "viewers only read");
    const created = await call("/subscriptions", seed);
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.body.code, "sub-test-001");
    assert.equal(created.body.state, "active");
    assert.equal(created.body.sender_id, h.alice.senderId);
    assert.equal(created.body.callback_url, "https://partner.example/cb/registry/notify");
    assert.deepEqual(created.body.filter, { type: "UIN", value: "TEST-001" });

    const refused: Array<[unknown, number, RegExp]> = [
      [seed, 409, /code: "sub-test-001" is already used/],
      [
        { ...seed, code: "sub-test-002" },
        409,
        /same event, record type, filter, frequency, start_time and end_time \(code "sub-test-001"\)/,
      ],
      [{ ...seed, code: "sub test" }, 400, /code must be 1 to 99 printable ASCII/],
      [{ ...seed, code: "x".repeat(100) }, 400, /code/],
      [{ ...seed, code: "s3", sender_id: "nobody" }, 400, /sender_id: no sender "nobody"/],
      [{ ...seed, code: "s4", notify_url: undefined }, 400, /notify_url: sender ".*" has no callback URL/],
      [{ ...seed, code: "s5", notify_url: "ftp://x" }, 400, /notify_url: must be an absolute http\(s\) URL/],
      [{ ...seed, code: "s6", locale: "en" }, 400, /locale must be three lowercase letters/],
      [
        { ...seed, code: "s7", subscribe_criteria: { ...MEMBER_TEST_001, reg_event_type: "LiveBirth" } },
        400,
        /subscribe_criteria: reg_event_type "LiveBirth" is not one of/,
      ],
      [
        { ...seed, code: "s8", subscribe_criteria: { ...MEMBER_TEST_001, filter: [{ expression1: {} }] } },
        400,
        /subscribe_criteria: filter/,
      ],
      [{ ...seed, code: "s9", colour: "blue" }, 400, /colour/],
    ];
    for (const [body, status, message] of refused) {
      const r = await call("/subscriptions", body);
      assert.equal(r.status, status, `${JSON.stringify(body)} → ${JSON.stringify(r.body)}`);
      assert.match(r.body.message.error.message, message);
    }

    // The import endpoint: each item on its own, refusals named by item number.
    const imported = await call("/subscriptions/import", {
      subscriptions: [
        {
          ...seed,
          code: "sub-test-003",
          subscribe_criteria: { reg_event_type: "UPDATE", notify_record_type: "person" },
        },
        {
          ...seed,
          code: "sub-test-003",
          subscribe_criteria: { reg_event_type: "DELETE", notify_record_type: "person" },
        },
        { ...seed, code: "sub-test-004", sender_id: "nobody" },
      ],
    });
    assert.equal(imported.status, 200);
    assert.deepEqual(imported.body.created, ["sub-test-003"]);
    assert.deepEqual(imported.body.rejected.map((r: Json) => r.item), [2, 3]);
    assert.match(imported.body.rejected[0].reason, /already used by line 1/);
    // Its audit row holds what it read, created and refused.
    const audit = (await h.deps.storage.audit.list({ action: "subscription.import" })).items;
    assert.equal(audit.length, 1);
    assert.deepEqual(
      [audit[0].detail.read, audit[0].detail.created, audit[0].detail.rejected],
      [3, ["sub-test-003"], 2],
    );

    // A registration matching the filter is notified to the seeded code's URL.
    await putPerson(h.deps, person("p1", { identifiers: [{ type: "UIN", value: "TEST-001" }] }));
    await putPerson(h.deps, person("p2"));
    await fanOutAll(h.deps);
    await runNotifierOnce(h.deps, { random: () => 0.5 });
    const notifies = h.http.sent.filter((s) => s.url === "https://partner.example/cb/registry/notify");
    assert.equal(notifies.length, 1);
    const event = (notifies[0].body as Json).message.notify_event[0];
    assert.equal(event.subscription_code, "sub-test-001");
    assert.equal(event.data.reg_records.identifier[0].identifier_value, "TEST-001");
  } finally {
    h.close();
  }
});

Deno.test("e2e: CLI create and file import seed subscriptions a running server notifies; the partner unsubscribes by code", async () => {
  const rx = startReceiver();
  const server = await startServer();
  const dir = await Deno.makeTempDir();
  try {
    const alice = await createServerSender(server);
    const env = { DCI_DATA_DIR: server.dataDir, DCI_OUTBOUND_ALLOW: "127.0.0.1" };
    const notifyUrl = `${rx.url}/registry/notify`;
    const cli = (args: string[]) => runCliProcess(["subscription", ...args], env);
    const create = [
      "create",
      "--sender",
      alice.senderId,
      "--code",
      "sub-cli-001",
      "--event",
      "REGISTER",
      "--record-type",
      "Member",
      "--filter-type",
      "idtype-value",
      "--filter",
      '{"type":"UIN","value":"U-c1"}',
      "--notify-url",
      notifyUrl,
    ];
    const made = await cli(create);
    assert.equal(made.code, 0, made.stderr);
    assert.match(made.stdout, /created: sub-cli-001 \(sender .*, state active/);
    const again = await cli(create);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /code: "sub-cli-001" is already used/);
    assert.equal((await cli(["create", "--sender", alice.senderId, "--filter", "{"])).code, 2);

    const record = (code: string, event: string, extra: Record<string, unknown> = {}) =>
      JSON.stringify({
        sender_id: alice.senderId,
        code,
        notify_url: notifyUrl,
        subscribe_criteria: { reg_event_type: event, notify_record_type: "person" },
        ...extra,
      });
    const ndjson = `${dir}/subs.ndjson`;
    await Deno.writeTextFile(
      ndjson,
      [
        record("sub-file-001", "UPDATE"),
        "",
        record("sub-file-001", "DELETE"),
        record("sub-file-009", "DELETE", { sender_id: "nobody" }),
        "{not json",
      ].join("\n") + "\n",
    );
    const imported = await cli(["import", ndjson]);
    assert.equal(imported.code, 3, imported.stderr);
    assert.match(imported.stdout, /read 4, created 1, rejected 3/);
    assert.match(imported.stdout, /3 .*code: "sub-file-001" is already used by line 1/);
    assert.match(imported.stdout, /4 .*sender_id: no sender "nobody"/);
    assert.match(imported.stdout, /5 .*invalid JSON/);
    const json = `${dir}/subs.json`;
    await Deno.writeTextFile(json, `[\n${record("sub-file-002", "DELETE")}\n]\n`);
    const fromJson = await cli(["import", json]);
    assert.equal(fromJson.code, 0, fromJson.stdout + fromJson.stderr);
    assert.match(fromJson.stdout, /read 1, created 1, rejected 0/);

    const listed = await admin(server, "GET", `/subscriptions?sender_id=${alice.senderId}`);
    assert.deepEqual(
      (listed.body.items as Json[]).map((s) => [s.code, s.state]).sort(),
      [["sub-cli-001", "active"], ["sub-file-001", "active"], ["sub-file-002", "active"]],
    );

    // Registry changes in the running server reach each seeded code's subscriber.
    await updates(server, "c1", ["female", "male"]); // registration (sub-cli-001), then an update (sub-file-001)
    await remove(server, "c1"); // delete (sub-file-002)
    await rx.until(() =>
      notifiesOf(rx, "sub-cli-001").length === 1 && notifiesOf(rx, "sub-file-001").length === 1 &&
      notifiesOf(rx, "sub-file-002").length === 1
    );

    // The partner's own requests find the seeded codes: txn status and unsubscribe.
    const status = await send(server, alice, "/registry/sync/txn/status", {
      transaction_id: "q-seed",
      txnstatus_request: {
        reference_id: "q-seed-1",
        txn_type: "subscribe",
        attribute_type: "subscription_code_list",
        attribute_value: ["sub-file-001"],
      },
    }, rx.url);
    assert.equal(status.status, 200);
    const item = (status.body.message as Json).txnstatus_response.txn_status.subscribe_response[0];
    assert.equal(item.subscriptions[0].code, "sub-file-001");
    const ack = await send(server, alice, "/registry/unsubscribe", {
      transaction_id: "u-seed",
      timestamp: new Date().toISOString(),
      subscription_codes: ["sub-cli-001"],
    }, rx.url);
    assert.equal(ack.status, 202);
    await rx.until((all) => all.some((r) => r.path.endsWith("/on-unsubscribe")));
    const cb = rx.received.find((r) => r.path.endsWith("/on-unsubscribe"))!.body as Json;
    assert.equal(cb.header.status, "succ");
    assert.deepEqual(cb.message.subscription_status, [{ code: "sub-cli-001", status: "unsubscribe" }]);
  } finally {
    await server.stop();
    await rx.close();
    await Deno.remove(dir, { recursive: true });
  }
});
