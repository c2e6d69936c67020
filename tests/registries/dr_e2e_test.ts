/**
 * End to end, a real server with the disability registry seeded from its demo: signed sync and async search
 * answering the partners' test person by identifier, the DR endpoints (sync/disabled, get-disability-details,
 * get-disability-support), subscribe and a signed notification for a person registered through the admin API
 * and one imported from CSV by the CLI, a field the DR does not know refused, and no txn status. Every answer,
 * callback and notification is checked against dr_api_v1.0.0.yaml (postJson and the receiver check them), every
 * record against the DR classes.
 */
import assert from "node:assert/strict";
import { createServerSender, type TestSender } from "../helpers/auth.ts";
import { postJson, runCliProcess, type ServerProcess } from "../helpers/server.ts";
import { requestEnvelope } from "../helpers/dci.ts";
import { verifyWithJwks } from "../transactions/support.ts";
import { type Receiver, startReceiver } from "../subscriptions/helpers.ts";
import {
  admin,
  notifiesOf,
  recordOf,
  send,
  startServer,
  subscribeMessage,
} from "../subscriptions/e2e_support.ts";
import { DR_TEST_CAREGIVER_UIN, DR_TEST_UIN } from "../../src/registries/dr/demo.ts";
import { validateDr } from "./dr_validator.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const BASE = "/dci_api/v1/dr/registry";

/** A signed sync request from `sender` to the DR's `path`; the signed answer's body. */
async function sync(server: ServerProcess, sender: TestSender, path: string, message: Json): Promise<Json> {
  const env = sender.sign(requestEnvelope(sender.senderId, message, { totalCount: 1 }));
  const res = await postJson(`${server.url}${BASE}${path}`, env, sender.headers());
  assert.equal(res.status, 200, JSON.stringify(res.body));
  const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
  assert.ok(verifyWithJwks(res.body, jwks, Date.now()), "the answer is signed by the server");
  return res.body;
}

const byUin = (value: string) => ({ query_type: "idtype-value", query: { type: "UIN", value } });

function searchMessage(txn: string, criteria: Json): Json {
  return {
    transaction_id: txn,
    search_request: [{
      reference_id: `${txn}-r`,
      timestamp: new Date().toISOString(),
      search_criteria: criteria,
    }],
  };
}

/** A DR person with an approved disability, in the admin API's input shape. */
function approvedPerson(id: string, uin: string): Json {
  return {
    id,
    record_type: "PWDPerson",
    identifier: [{ identifier_type: "UIN", identifier_value: uin }],
    name: { given_name: "Imani", surname: "Diallo" },
    sex: "female",
    birth_date: "1999-09-09",
    details: {
      disability_status: "Approved",
      disability_level: "Moderate",
      disability_details: [{ impairment_type: "Hearing", impairment_level: "Moderate" }],
      disability_support: [{ assistive_technology: [{ type: "Hearing aids", status: "Needed" }] }],
    },
  };
}

/** Subscribes to registrations of approved disabilities and to every update; returns the two codes. */
async function subscribe(server: ServerProcess, sender: TestSender, rx: Receiver): Promise<string[]> {
  const approved = [{
    expression1: { attribute_name: "disability_status", operator: "eq", attribute_value: "Approved" },
  }];
  const ack = await send(
    server,
    sender,
    `${BASE}/subscribe`,
    subscribeMessage("dr-sub", [
      {
        reg_type: "ns:org:RegistryType:DR",
        reg_event_type: "REGISTER",
        notify_record_type: "PWDPerson",
        filter_type: "predicate",
        filter: approved,
      },
      { reg_type: "DR", reg_event_type: "UPDATE", notify_record_type: "PWDPerson" },
    ]),
    rx.url,
  );
  assert.equal(ack.status, 202, JSON.stringify(ack.body));
  await rx.until((all) => all.some((r) => r.path.endsWith("/on-subscribe")));
  const cb = rx.received.find((r) => r.path.endsWith("/on-subscribe"))!;
  const items = (cb.body.message as Json).subscribe_response as Json[];
  for (const item of items) assert.equal(item.status, "succ", JSON.stringify(item));
  return items.map((item) => item.subscriptions[0].code);
}

Deno.test("e2e: the disability registry answers its test person, its own endpoints, and notifies its subscribers", async () => {
  const rx = startReceiver({ registry: "dr" });
  const server = await startServer({
    DCI_SEED_DEMO: "true",
    DCI_DEMO_SIZE: "30",
    DCI_REGISTRIES: "social,dr",
  });
  try {
    await server.waitForLog((l) => l.msg === "demo registry seeded" && l.registry === "dr");
    const alice = await createServerSender(server, { auto_approve_subscriptions: true });

    // Sync search by identifier: the partners' test person, a valid PWDPerson in the DR vocabulary.
    const found = await sync(server, alice, "/sync/search", searchMessage("s-1", byUin(DR_TEST_UIN)));
    assert.equal(found.header.action, "on-search");
    const [item] = found.message.search_response;
    assert.equal(item.status, "succ", JSON.stringify(item));
    assert.equal(item.data.reg_type, "ns:org:RegistryType:DR");
    assert.equal(item.data.reg_record_type, "PWDPerson");
    assert.deepEqual(validateDr(item.data.reg_records[0], "PWDPerson"), []);
    assert.equal(item.data.reg_records[0].disability_status, "Approved");

    // The DR's own endpoints.
    const criteria = (uin: string) => ({ transaction_id: `d-${uin}`, disabled_criteria: byUin(uin) });
    const yes = await sync(server, alice, "/sync/disabled", criteria(DR_TEST_UIN));
    assert.equal(yes.header.action, "on-search");
    assert.deepEqual(Object.keys(yes.message.disabled_response[0]).sort(), [
      "disabled_status",
      "reference_id",
      "status",
      "timestamp",
    ]);
    assert.equal(yes.message.disabled_response[0].disabled_status, "yes");
    const no = await sync(server, alice, "/sync/disabled", criteria(DR_TEST_CAREGIVER_UIN));
    assert.equal(no.message.disabled_response[0].disabled_status, "no");
    const details = await sync(server, alice, "/sync/get-disability-details", criteria(DR_TEST_UIN));
    const [info] = details.message.search_response[0].data.reg_records;
    assert.deepEqual(validateDr(info, "PWDPerson"), []);
    assert.equal(info.disability_details[0].impairment_type, "Mobility");
    const support = await sync(server, alice, "/sync/get-disability-support", criteria(DR_TEST_UIN));
    const [supports] = support.message.search_response[0].data.reg_records;
    assert.deepEqual(validateDr(supports[0], "DisabilitySupport"), []);

    // A header-level refusal is still the endpoint's complete answer (checked against the yaml by postJson).
    const wrongAction = alice.sign(
      requestEnvelope(alice.senderId, criteria(DR_TEST_UIN), { action: "notify" }),
    );
    const refused = await postJson(`${server.url}${BASE}/sync/disabled`, wrongAction, alice.headers());
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.equal((refused.body.header as Json).status_reason_code, "rjct.action.invalid");
    assert.equal((refused.body.message as Json).disabled_response[0].disabled_status, "no");

    // Async search: ACK, then a signed on-search callback (checked against the DR yaml by the receiver).
    const ack = await send(server, alice, `${BASE}/search`, searchMessage("a-1", byUin(DR_TEST_UIN)), rx.url);
    assert.equal(ack.status, 202, JSON.stringify(ack.body));
    await rx.until((all) => all.some((r) => r.path.endsWith("/on-search")));
    const onSearch = rx.received.find((r) => r.path.endsWith("/on-search"))!.body as Json;
    assert.equal(onSearch.message.search_response[0].data.reg_records[0]["@id"], "DR-TEST-001");

    // Subscribe to registrations of approved disabilities; register one through the admin API (notified), one
    // pending (not notified), and import one from CSV through the CLI (notified).
    const [code, updatesCode] = await subscribe(server, alice, rx);
    const put = await admin(
      server,
      "PUT",
      "/registries/dr/registrants/DR-NEW-1",
      approvedPerson("DR-NEW-1", "NEW-1"),
    );
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const pending = approvedPerson("DR-NEW-2", "NEW-2");
    pending.details.disability_status = "Pending";
    assert.equal((await admin(server, "PUT", "/registries/dr/registrants/DR-NEW-2", pending)).status, 200);
    const csv = await Deno.makeTempFile({ suffix: ".csv" });
    await Deno.writeTextFile(
      csv,
      "id,id.UIN,given_name,surname,disability_status,disability_level,impairment_type,assistive_technology\n" +
        "DR-CSV-1,CSV-1,Kofi,Mensah,approved,severe,vision,wheelchairs\n",
    );
    const imported = await runCliProcess(["registry", "import", "--registry", "dr", csv], {
      DCI_DATA_DIR: server.dataDir,
    });
    await Deno.remove(csv);
    assert.equal(imported.code, 0, imported.stderr);
    await rx.until(() => notifiesOf(rx, code).length === 2);
    const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();
    const notified = notifiesOf(rx, code).map((n) => {
      assert.ok(verifyWithJwks(n.body, jwks, Date.now()), "the notification is signed");
      const data = (n.body.message as Json).notify_event[0].data;
      assert.equal(data.reg_type, "ns:org:RegistryType:DR");
      assert.equal(data.reg_record_type, "PWDPerson");
      const record = recordOf(n);
      assert.deepEqual(validateDr(record, "PWDPerson"), []);
      return record["@id"];
    });
    assert.deepEqual(notified.sort(), ["DR-CSV-1", "DR-NEW-1"]);
    const notificationId = notifiesOf(rx, code)[0].headers.get("x-dci-notification-id")!;
    const receipt = alice.sign(
      requestEnvelope(alice.senderId, { transaction_id: "rcpt-1", notification_id: notificationId }, {
        action: "receipt",
      }),
    );
    const rcpt = await postJson(`${server.url}${BASE}/sync/receipt`, receipt, alice.headers());
    assert.equal((rcpt.body.header as Json).status, "succ", JSON.stringify(rcpt.body));
    const csvPerson = await sync(server, alice, "/sync/get-disability-details", criteria("CSV-1"));
    const [csvInfo] = csvPerson.message.search_response[0].data.reg_records;
    assert.equal(csvInfo.disability_status_level, "Severe");
    assert.equal(csvInfo.disability_details[0].impairment_type, "Vision");
    assert.equal(
      (await sync(server, alice, "/sync/disabled", criteria("CSV-1"))).message.disabled_response[0]
        .disabled_status,
      "yes",
    );

    // An update of a DR person is notified to the update subscription, as UPDATE.
    const changed = approvedPerson("DR-NEW-1", "NEW-1");
    changed.details.disability_level = "Severe";
    assert.equal((await admin(server, "PUT", "/registries/dr/registrants/DR-NEW-1", changed)).status, 200);
    await rx.until(() => notifiesOf(rx, updatesCode).length === 1);
    const update = (notifiesOf(rx, updatesCode)[0].body.message as Json).notify_event[0].data;
    assert.equal(update.reg_event_type, "UPDATE");
    assert.equal(update.reg_records.disability_status_level, "Severe");

    // A field the DR does not know is refused naming it; nothing is written.
    const bad = await admin(server, "PUT", "/registries/dr/registrants/DR-BAD-1", {
      ...approvedPerson("DR-BAD-1", "BAD-1"),
      details: {
        disability_status: "Approved",
        disability_details: [{ impairment_type: "Vision", colour: "x" }],
      },
    });
    assert.equal(bad.status, 400, JSON.stringify(bad.body));
    assert.match(JSON.stringify(bad.body), /details\.disability_details\[0\]\.colour: unknown field/);
    assert.equal((await admin(server, "GET", "/registries/dr/registrants/DR-BAD-1")).status, 404);

    // The DR spec has no txn status: its path answers 404 with an ERR ACK.
    const txn = await send(server, alice, `${BASE}/txn/status`, {
      transaction_id: "t-s",
      txnstatus_request: {},
    }, rx.url);
    assert.equal(txn.status, 404, JSON.stringify(txn.body));
    assert.equal((txn.body.message as Json).ack_status, "ERR");
  } finally {
    await server.stop();
    await rx.close();
    await Deno.remove(server.dataDir, { recursive: true }).catch(() => {});
  }
});
