/**
 * The farmer registry end to end, through a real server process and real loopback receivers (every answer,
 * callback and notification checked against fr_api_v1.0.0.yaml by the suite's hooks): the demo seeded on an empty
 * data dir answers FARMER-TEST-001 to signed sync and async searches; a subscriber to the fr registry is notified,
 * signed, of a farmer registered through the admin API; `registry import --registry fr` reads the documented CSV
 * columns and reports a bad row naming its field.
 */
import assert from "node:assert/strict";
import { runCliProcess } from "../helpers/server.ts";
import { createServerSender } from "../helpers/auth.ts";
import { verifyWithJwks } from "../transactions/support.ts";
import { startReceiver } from "../subscriptions/helpers.ts";
import {
  admin,
  notifiesOf,
  recordOf,
  send,
  startServer,
  subscribeMessage,
} from "../subscriptions/e2e_support.ts";
import { TEST_FARMER_ID } from "../../src/registries/fr/demo.ts";
import { frValidator } from "./fr_jsonld.ts";

// deno-lint-ignore no-explicit-any
type Json = any;

const FR = "/dci_api/v1/fr/registry";

function byFarmerId(ref: string, value = TEST_FARMER_ID): Json {
  return {
    reference_id: ref,
    timestamp: new Date().toISOString(),
    search_criteria: {
      reg_type: "ns:org:RegistryType:FR",
      reg_record_type: "Farmer",
      query_type: "idtype-value",
      query: { type: "FARMER_ID", value },
    },
  };
}

Deno.test("e2e fr: the seeded demo answers FARMER-TEST-001 to signed sync and async searches; subscribers are notified", async () => {
  const rx = startReceiver({ registry: "fr" });
  const server = await startServer({ DCI_SEED_DEMO: "true", DCI_DEMO_SIZE: "50" });
  try {
    await server.waitForLog((l) => l.msg === "demo registry seeded");
    const alice = await createServerSender(server, { auto_approve_subscriptions: true });
    const jwks = await (await fetch(`${server.url}/.well-known/jwks.json`)).json();

    const sync = await send(
      server,
      alice,
      `${FR}/sync/search`,
      {
        transaction_id: "fr-sync",
        search_request: [byFarmerId("r1")],
      },
      rx.url,
      "search",
    );
    assert.equal(sync.status, 200, JSON.stringify(sync.body));
    assert.ok(verifyWithJwks(sync.body, jwks, Date.now()), "the answer is signed with the server key");
    const [item] = (sync.body.message as Json).search_response;
    assert.equal(item.data.reg_type, "ns:org:RegistryType:FR");
    assert.deepEqual(item.data.reg_records.map((r: Json) => r["@id"]), ["FR-TEST-001"]);
    const farmer = item.data.reg_records[0];
    assert.deepEqual(frValidator.validate(farmer, "Farmer"), []);
    assert.ok(farmer.farm_details[0].farming_activities.crop_production.length > 0, "crops");
    assert.ok(farmer.farm_details[0].farming_activities.animal_production.length > 0, "livestock");

    const ack = await send(server, alice, `${FR}/search`, {
      transaction_id: "fr-async",
      search_request: [byFarmerId("r1")],
    }, rx.url);
    assert.equal(ack.status, 202, JSON.stringify(ack.body));
    const isOnSearch = (r: { path: string; body: Json }) =>
      r.path.endsWith("/on-search") && r.body.message?.transaction_id === "fr-async";
    await rx.until((all) => all.some(isOnSearch));
    const callback = rx.received.find(isOnSearch)!.body as Json;
    assert.ok(verifyWithJwks(callback, jwks, Date.now()), "the callback is signed");
    assert.deepEqual(callback.message.search_response[0].data.reg_records.map((r: Json) => r["@id"]), [
      "FR-TEST-001",
    ]);

    const sub = await send(
      server,
      alice,
      `${FR}/subscribe`,
      subscribeMessage("fr-sub", [{
        reg_type: "ns:org:RegistryType:FR",
        reg_event_type: "REGISTER",
        notify_record_type: "Farmer",
        filter_type: "predicate",
        filter: [{
          expression1: { attribute_name: "livestock_type", operator: "eq", attribute_value: "poultry" },
        }],
      }]),
      rx.url,
    );
    assert.equal(sub.status, 202, JSON.stringify(sub.body));
    const isOnSubscribe = (r: { path: string; body: Json }) =>
      r.path.endsWith("/on-subscribe") && r.body.message?.transaction_id === "fr-sub";
    await rx.until((all) => all.some(isOnSubscribe));
    const [registrations] = (rx.received.find(isOnSubscribe)!.body as Json).message.subscribe_response;
    assert.equal(registrations.status, "succ", JSON.stringify(registrations));
    const code = registrations.subscriptions![0].code;
    const created = await admin(server, "POST", "/registries/fr/registrants", {
      id: "FR-NEW-1",
      identifier: [{ identifier_type: "FARMER_ID", identifier_value: "FARMER-NEW-1" }],
      name: { given_name: "Halima", surname: "Gebre" },
      details: { farm: { land_size: 1.5, livestock: "6=40", crops: "Vegetables and melons" } },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await rx.until(() => notifiesOf(rx, code).length > 0);
    const [notify] = notifiesOf(rx, code);
    assert.ok(verifyWithJwks(notify.body, jwks, Date.now()), "the notification is signed");
    const event = (notify.body.message as Json).notify_event[0].data;
    assert.deepEqual([event.reg_type, event.reg_record_type, event.reg_event_type], [
      "ns:org:RegistryType:FR",
      "Farmer",
      "REGISTER",
    ]);
    const record = recordOf(notify);
    assert.equal(record["@id"], "FR-NEW-1");
    assert.deepEqual(frValidator.validate(record, "Farmer"), []);
  } finally {
    await server.stop();
    await rx.close();
    await Deno.remove(server.dataDir, { recursive: true }).catch(() => {});
  }
});

Deno.test("e2e fr: registry import --registry fr reads the CSV columns; a bad row is reported naming its field", async () => {
  const dir = await Deno.makeTempDir({ prefix: "dci-fr-import-" });
  try {
    const csv = `${dir}/farmers.csv`;
    await Deno.writeTextFile(
      csv,
      [
        "id,id.FARMER_ID,given_name,surname,region_code,locality,farm_type,land_size,land_unit,land_tenure,crops,livestock,machinery",
        "F1,FARMER-1,Ines,Flores,central_region,Riverside,1,2.5,H,Owner,Cereals|7,1=3|6=20,10=4",
        "F2,FARMER-2,Juan,Huaman,northern_region,Northgate,1,1,AC,3,wheat,,",
      ].join("\n") + "\n",
    );
    const run = await runCliProcess(["registry", "import", csv, "--registry", "fr", "--allow-rejects"], {
      DCI_DATA_DIR: dir,
    });
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /read 2, registered 1, updated 0, rejected 1/, run.stdout);
    assert.match(
      run.stdout + run.stderr,
      /details\.farm\.crops\[0\]\.crop_type_name: "wheat" is not a CropTypeEnum/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
